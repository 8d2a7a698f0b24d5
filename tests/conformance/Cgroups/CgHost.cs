using System.Diagnostics;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Cgroups;

/// <summary>
/// The host's real cgroup hierarchies as this test process sees them (mountinfo + /proc/self/cgroup):
/// where a relative cgroupsPath lands in each one, and a forced cleanup that kills, thaws and
/// removes whatever a test left (deepest directory first).
/// </summary>
public static class CgHost
{
    /// <summary>A cgroup mount: its mount point, "cgroup" or "cgroup2", its v1 controllers, and our own cgroup dir in it.</summary>
    public sealed record Hierarchy(string MountPoint, string FsType, string[] Controllers, string OwnDir);

    public static IReadOnlyList<Hierarchy> All { get; } = Detect();

    /// <summary>The v1 hierarchy that has <paramref name="ctrl"/>, or null.</summary>
    public static Hierarchy? V1(string ctrl) => All.FirstOrDefault(h => h.FsType == "cgroup" && h.Controllers.Contains(ctrl));

    public static Hierarchy? Unified => All.FirstOrDefault(h => h.FsType == "cgroup2");

    /// <summary>Hybrid as on the dev machine: v1 memory/cpu/pids/devices/freezer plus a cgroup2 mount.</summary>
    public static bool IsHybrid => Unified != null && V1("memory") != null && V1("freezer") != null && V1("devices") != null;

    /// <summary>The directory a relative cgroupsPath <paramref name="rel"/> gets in the v1 hierarchy of <paramref name="ctrl"/>.</summary>
    public static string V1Dir(string ctrl, string rel) => Path.Combine(V1(ctrl)!.OwnDir, rel);

    public static string UnifiedDir(string rel) => Path.Combine(Unified!.OwnDir, rel);

    /// <summary>Every directory named by <paramref name="rel"/> (relative to our own cgroup) that exists in any hierarchy.</summary>
    public static List<string> Existing(string rel) =>
        All.Select(h => Path.Combine(h.OwnDir, rel)).Where(Directory.Exists).Distinct().ToList();

    public static string Read(string dir, string file) => File.ReadAllText(Path.Combine(dir, file)).Trim();

    /// <summary>/proc/PID/cgroup lines of the hierarchies with a non-root path, as "hierarchy-id:controllers:path".</summary>
    public static string ProcCgroup(int pid) => File.ReadAllText($"/proc/{pid}/cgroup").Trim();

    /// <summary>
    /// Removes the directories of one container in every hierarchy (children first): thaws them all
    /// first (a v1-frozen task ignores SIGKILL, and it is frozen through the freezer hierarchy while it
    /// also sits in the cpu/memory/... ones), SIGKILLs what is inside, then rmdirs with retries. Never throws.
    /// </summary>
    public static void ForceRemove(params string[] dirs)
    {
        var all = dirs.Where(Directory.Exists).SelectMany(d => Directory.EnumerateDirectories(d, "*", SearchOption.AllDirectories).Append(d)).ToList();
        try
        {
            foreach (var d in all)
            {
                var fz = Path.Combine(d, "freezer.state");
                if (File.Exists(fz)) try { File.WriteAllText(fz, "THAWED"); } catch (IOException) { }
                var f2 = Path.Combine(d, "cgroup.freeze");
                if (File.Exists(f2)) try { File.WriteAllText(f2, "0"); } catch (IOException) { }
            }
            var deadline = Environment.TickCount64 + 10_000;
            foreach (var d in all.OrderByDescending(d => d.Length))
            {
                while (Directory.Exists(d))
                {
                    foreach (var l in File.ReadAllLines(Path.Combine(d, "cgroup.procs")))
                        if (int.TryParse(l, out var pid) && pid != Environment.ProcessId) Bundle.Kill(pid, 9);
                    try { Directory.Delete(d); }
                    catch (IOException) when (Environment.TickCount64 < deadline) { Thread.Sleep(50); }
                }
            }
        }
        catch (Exception e) { TestContext.Progress.WriteLine($"cgroup cleanup of {string.Join(' ', dirs)}: {e.Message}"); }
    }

    private static List<Hierarchy> Detect()
    {
        var own = new Dictionary<string, string>(); // controllers ("" for cgroup2) -> path
        foreach (var l in File.ReadAllLines("/proc/self/cgroup"))
        {
            var f = l.Split(':', 3);
            if (f.Length == 3) own[f[1]] = f[2];
        }
        var list = new List<Hierarchy>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var parts = line.Split(" - ");
            if (parts.Length != 2) continue;
            var a = parts[0].Split(' ');
            var b = parts[1].Split(' ');
            if (b[0] is not ("cgroup" or "cgroup2")) continue;
            string root = a[3], mp = a[4];
            if (!mp.StartsWith("/sys/fs/cgroup", StringComparison.Ordinal)) continue;
            string[] ctrls = b[0] == "cgroup2" ? [] : b[2].Split(',').Where(o => o is not ("rw" or "ro") && !o.StartsWith("name=") && !o.Contains('=') && o != "clone_children" && o != "noprefix").ToArray();
            string key = b[0] == "cgroup2" ? "" : string.Join(',', b[2].Split(',').Where(o => ctrls.Contains(o) || o.StartsWith("name=")));
            if (!own.TryGetValue(key, out var p)) continue;
            if (root != "/" && p.StartsWith(root, StringComparison.Ordinal)) p = p[root.Length..];
            list.Add(new Hierarchy(mp, b[0], ctrls, (mp + p).TrimEnd('/')));
        }
        return list;
    }
}

/// <summary>
/// Base of the cgroup conformance fixtures: root and the hybrid layout required, a fresh single-level
/// relative cgroupsPath per container (<see cref="NewPath"/>), and a TearDown that force-removes every
/// such directory in every hierarchy even when the test failed (the tests assert the runtime removed
/// them first: <see cref="AssertGone"/>).
/// </summary>
public abstract class CgFixture
{
    private readonly List<string> _paths = new();
    private readonly List<Process> _bg = new();

    [SetUp]
    public void CgSetUp()
    {
        if (!Env.IsRoot) Assert.Ignore("cgroup conformance tests need root");
        if (!File.Exists(Env.Runcs)) Assert.Ignore($"no runcs binary at {Env.Runcs}: make build");
        if (!CgHost.IsHybrid) Assert.Ignore("these tests are written for the hybrid layout of the dev machine (v1 controllers + cgroup2 mount)");
    }

    [TearDown]
    public void CgTearDown()
    {
        foreach (var p in _bg)
        {
            try { if (!p.HasExited) { p.Kill(true); p.WaitForExit(5000); } } catch (Exception) { }
            p.Dispose();
        }
        _bg.Clear();
        foreach (var rel in _paths)
        {
            var left = CgHost.Existing(rel);
            if (left.Count > 0) TestContext.Progress.WriteLine($"teardown removes leftover cgroups: {string.Join(' ', left)}");
            CgHost.ForceRemove(left.ToArray());
        }
        _paths.Clear();
    }

    /// <summary>A new single-level relative cgroupsPath, registered for removal.</summary>
    protected string NewPath(string tag = "")
    {
        var p = $"runcs-cgt-{tag}{Guid.NewGuid().ToString("N")[..10]}";
        _paths.Add(p);
        return p;
    }

    /// <summary>Registers a cgroup name the runtime picks itself (e.g. the container id for an empty cgroupsPath).</summary>
    protected void Track(string rel) => _paths.Add(rel);

    /// <summary>No directory for <paramref name="rel"/> in any v1 hierarchy nor on the unified mount.</summary>
    protected static void AssertGone(string rel, string why)
    {
        var left = CgHost.Existing(rel);
        Assert.That(left, Is.Empty, $"cgroup directories left behind {why}");
    }

    /// <summary>A bundle with cgroupsPath <paramref name="rel"/> and resources <paramref name="resources"/> (null keeps the spec's deny-all devices).</summary>
    protected static Bundle NewBundle(string rel, JsonObject? resources = null, bool copyRootfs = false)
    {
        var b = new Bundle(copyRootfs);
        b.Linux["cgroupsPath"] = rel;
        if (resources != null) b.Linux["resources"] = resources;
        return b;
    }

    /// <summary>create + start, asserting both succeed.</summary>
    protected static void CreateStart(Bundle b, string id)
    {
        var c = b.Create(id);
        Assert.That(c.ExitCode, Is.EqualTo(0), "create: " + c);
        var s = b.Runcs("start", id);
        Assert.That(s.ExitCode, Is.EqualTo(0), "start: " + s);
    }

    /// <summary>`runcs --root R ARGS` with <paramref name="stdin"/> fed to it.</summary>
    protected static Result RuncsStdin(Bundle b, string stdin, params string[] args) =>
        Run.Exec(Env.Runcs, ["--root", b.RuncsRoot, .. args], stdin: stdin, timeoutMs: 30_000);

    /// <summary>Starts `runcs --root R ARGS` in the background, stdout/stderr to files; killed in TearDown.</summary>
    protected (Process Proc, string Out, string Err) Background(Bundle b, params string[] args)
    {
        var o = b.Path_($"bg{_bg.Count}.out");
        var e = b.Path_($"bg{_bg.Count}.err");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$@\" >\"$O\" 2>\"$E\" </dev/null");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(Env.Runcs);
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(b.RuncsRoot);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["O"] = o;
        psi.Environment["E"] = e;
        var p = Process.Start(psi)!;
        _bg.Add(p);
        return (p, o, e);
    }

    /// <summary>Polls <paramref name="cond"/> until true or the timeout; returns the last value.</summary>
    protected static bool Eventually(Func<bool> cond, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (cond()) return true;
            if (Environment.TickCount64 > deadline) return false;
            Thread.Sleep(50);
        }
    }

    protected static int InitPid(Bundle b, string id) => b.State(id)!["pid"]!.GetValue<int>();

    /// <summary>The state letter of /proc/PID/stat (R, S, D, T, Z...), or null when gone.</summary>
    protected static string? ProcState(int pid)
    {
        try
        {
            var s = File.ReadAllText($"/proc/{pid}/stat");
            return s[(s.LastIndexOf(')') + 2)..].Split(' ')[0];
        }
        catch (IOException) { return null; }
    }

    protected static bool Alive(int pid) => ProcState(pid) is { } s && s != "Z";

    protected static JsonArray Arr(params JsonNode[] items) => new(items);
}
