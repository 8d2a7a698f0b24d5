using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Security;

/// <summary>Helpers of the security, race, crash and exhaustion tests (issue #8).</summary>
public static class Sec
{
    private static readonly object Gate = new();
    private static string? _hostile;

    /// <summary>tests/conformance/Security/hostile.c built static once per run (Assert.Ignore without gcc).</summary>
    public static string Hostile
    {
        get
        {
            lock (Gate)
            {
                if (_hostile != null && File.Exists(_hostile)) return _hostile;
                var src = Path.Combine(Env.Repo, "tests", "conformance", "Security", "hostile.c");
                // One build per source version, reused by later runs (never one file per test run left in /tmp).
                var outFile = Path.Combine(Path.GetTempPath(), $"runcs-sec-hostile-{Sha256(src)[..12]}");
                if (File.Exists(outFile)) return _hostile = outFile;
                Result r;
                var tmp = outFile + "." + Environment.ProcessId;
                try { r = Run.Exec("gcc", ["-static", "-O2", "-o", tmp, src]); }
                catch (System.ComponentModel.Win32Exception) { Assert.Ignore("gcc is not installed: the hostile helper cannot be built"); throw; }
                if (r.ExitCode != 0) Assert.Ignore("cannot build the static hostile helper: " + r.Stderr);
                File.Move(tmp, outFile, overwrite: true);
                return _hostile = outFile;
            }
        }
    }

    /// <summary>Copies the hostile helper into a copied rootfs as /hostile.</summary>
    public static void InstallHostile(Bundle b)
    {
        Assert.That(b.CopiedRootfs, "the hostile helper needs a private rootfs copy");
        var dst = Path.Combine(b.RootfsPath, "hostile");
        File.Copy(Hostile, dst, true);
        File.SetUnixFileMode(dst, (UnixFileMode)0x1ED);
    }

    /// <summary>
    /// A test that reproduces an open bug outside the security engineer's folders: ignored ("known bug: ...")
    /// unless RUNCS_RUN_KNOWN_BUGS=1, which runs it to check a fix.
    /// </summary>
    public static void KnownBug(string what)
    {
        if (Environment.GetEnvironmentVariable("RUNCS_RUN_KNOWN_BUGS") != "1") Assert.Ignore("known bug: " + what);
    }

    public static string Sha256(string file)
    {
        using var f = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(f));
    }

    /// <summary>A host file whose content must never be readable from (or changed by) a container.</summary>
    public static string Marker(Bundle b, string content = "HOST-SECRET-")
    {
        var dir = Path.Combine("/tmp", "runcs-sec-marker-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var f = Path.Combine(dir, "secret");
        File.WriteAllText(f, content + Guid.NewGuid().ToString("N"));
        b.OnCleanup(() => Directory.Delete(dir, true));
        return f;
    }

    /// <summary>Exit 1 with exactly one line on stderr, no crash, no stack trace.</summary>
    public static void CleanFailure(Result r, string context = "")
    {
        Assert.That(r.ExitCode, Is.EqualTo(1), context + r);
        var err = r.Stderr.TrimEnd('\n');
        Assert.That(err.Split('\n'), Has.Length.EqualTo(1), context + "one-line error expected: " + r.Stderr);
        Assert.That(err, Does.Not.Contain("Unhandled").And.Not.Contain("   at "), context + r);
    }

    /// <summary>Either success or a clean failure; never a crash (exit &gt; 1, signal, stack trace).</summary>
    public static void OkOrCleanFailure(Result r, string context = "")
    {
        if (r.ExitCode == 0) return;
        CleanFailure(r, context);
    }

    /// <summary>/proc/self/mountinfo lines of the host (mount point + fstype), for before/after comparison.</summary>
    public static HashSet<string> HostMounts()
    {
        var set = new HashSet<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            int dash = Array.IndexOf(f, "-");
            if (f.Length > 4 && dash > 0 && dash + 1 < f.Length) set.Add(f[4] + " " + f[dash + 1] + " " + f[2]);
        }
        return set;
    }

    /// <summary>cgroup directories (any hierarchy) whose name contains <paramref name="needle"/>.</summary>
    public static List<string> CgroupDirs(string needle)
    {
        var list = new List<string>();
        if (!Directory.Exists("/sys/fs/cgroup")) return list;
        foreach (var h in Directory.GetDirectories("/sys/fs/cgroup"))
        {
            try
            {
                foreach (var d in Directory.EnumerateDirectories(h, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4, IgnoreInaccessible = true }))
                    if (Path.GetFileName(d).Contains(needle, StringComparison.Ordinal)) list.Add(d);
            }
            catch (IOException) { }
        }
        return list;
    }

    /// <summary>Pids whose /proc/&lt;pid&gt;/root is not the host's "/" and whose root lies under <paramref name="dir"/>.</summary>
    public static List<int> ProcessesRootedIn(string dir)
    {
        var list = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid)) continue;
            try
            {
                var t = new FileInfo(Path.Combine(d, "root")).LinkTarget;
                if (t != null && (t == dir || t.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal))) list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return list;
    }

    /// <summary>Sets linux.cgroupsPath to a relative, test-unique path (kept inside the runner's cgroup) and returns it.</summary>
    public static string PrivateCgroup(Bundle b, string tag)
    {
        var name = $"runcs-sec-{tag}-{Guid.NewGuid().ToString("N")[..8]}";
        b.Linux["cgroupsPath"] = name;
        return name;
    }

    public static JsonArray Arr(params string[] s) => new(s.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

    /// <summary>Removes the config's mount with this destination.</summary>
    public static void RemoveMount(Bundle b, string destination)
    {
        var m = b.Mounts;
        for (int i = m.Count - 1; i >= 0; i--)
            if (m[i]!["destination"]!.GetValue<string>() == destination) m.RemoveAt(i);
    }

    /// <summary>Waits for a condition, polling.</summary>
    public static bool Eventually(Func<bool> cond, int timeoutMs = 5000)
    {
        var end = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < end)
        {
            if (cond()) return true;
            Thread.Sleep(50);
        }
        return cond();
    }
}
