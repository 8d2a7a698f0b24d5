using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace Runcs.Conformance.Ecosystem;

/// <summary>
/// What the ecosystem tests share: the switches, the locally built busybox image, running
/// manager commands (with environment, with a pty), and the hermetic cleanup helpers.
/// Every daemon and every manager state lives under one temp dir per fixture.
/// </summary>
public static class Eco
{
    /// <summary>
    /// Run containers with the managers' default seccomp profiles (runcs enforces linux.seccomp);
    /// RUNCS_ECO_SECCOMP=0 turns them off for debugging.
    /// Off: Podman and Docker get `--security-opt seccomp=unconfined`; ctr gets no `--seccomp`.
    /// On: Podman and Docker use their default profile; ctr gets `--seccomp` (its default profile).
    /// </summary>
    public const bool DefaultSeccompOn = true;

    public static bool SeccompOn { get; } =
        Environment.GetEnvironmentVariable("RUNCS_ECO_SECCOMP") is { Length: > 0 } v ? v == "1" : DefaultSeccompOn;

    /// <summary>Podman/Docker run options for the seccomp switch.</summary>
    public static string[] SecurityOpts => SeccompOn ? [] : ["--security-opt", "seccomp=unconfined"];

    public const string ImageName = "localhost/runcs-busybox:latest";

    /// <summary>The reference runtime the comparison and latency tests run against.</summary>
    public static string Runc => File.Exists("/usr/sbin/runc") ? "/usr/sbin/runc" : "/usr/bin/runc";

    private static readonly object ImageGate = new();
    private static string? _imageDir;

    /// <summary>Builds (once) the busybox image tarballs: oci.tar and docker.tar in the returned dir.</summary>
    public static string ImageDir()
    {
        lock (ImageGate)
        {
            if (_imageDir != null) return _imageDir;
            var dir = Path.Combine(Env.Repo, ".cache", "ecosystem");
            var r = Sh.Run(Path.Combine(Env.Repo, "tests", "ecosystem", "build-image.sh"), [dir], timeoutMs: 120_000);
            if (r.ExitCode != 0) Assert.Fail($"building the busybox image failed: {r}");
            return _imageDir = dir;
        }
    }

    /// <summary>Skips (with the reason) when a manager's binaries are not installed; .ci/run installs them.</summary>
    public static void Require(string package, params string[] binaries)
    {
        if (!Env.IsRoot) Assert.Ignore("the ecosystem tests need root");
        foreach (var b in binaries)
            if (!File.Exists(b))
                Assert.Ignore($"{b} is missing: apt-get install {package} (.ci/run installs it)");
        if (!File.Exists(Env.Runcs)) Assert.Fail($"{Env.Runcs} is missing: run `make build`");
    }

    /// <summary>A fixture's private directory under /tmp (short: unix socket paths must fit 108 bytes).</summary>
    public static string NewTempDir(string tag)
    {
        var d = Path.Combine("/tmp", $"runcs-eco-{tag}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(d);
        return d;
    }

    public static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>Writes what runc and runcs showed to .cache/ecosystem/compare-FIXTURE-{runc,runcs}.txt (for diff) and the test output.</summary>
    public static void SaveComparison(string fixture, List<string> runc, List<string> runcs)
    {
        var dir = Path.Combine(Env.Repo, ".cache", "ecosystem");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, $"compare-{fixture}-runc.txt"), string.Join("\n---\n", runc));
        File.WriteAllText(Path.Combine(dir, $"compare-{fixture}-runcs.txt"), string.Join("\n---\n", runcs));
        TestContext.Out.WriteLine(string.Join("\n---\n", runcs));
    }

    /// <summary>
    /// Saves both observations, maps each through <paramref name="normalize"/> (known, documented
    /// differences) and requires runcs's to equal runc's.
    /// </summary>
    public static void AssertSameAsRunc(string fixture, string manager, Dictionary<bool, List<string>> results, Func<string, string>? normalize = null)
    {
        SaveComparison(fixture, results[false], results[true]);
        var runcs = normalize is null ? results[true] : results[true].Select(normalize).ToList();
        var runc = normalize is null ? results[false] : results[false].Select(normalize).ToList();
        Assert.That(runcs, Is.EqualTo(runc), $"runcs and runc differ under {manager}");
    }

    /// <summary>One warm-up each, then 10 interleaved one-shot runs per runtime; reports the medians.</summary>
    public static void CompareLatency(string manager, Func<bool, Result> runOnce)
    {
        var t = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        runOnce(true);
        runOnce(false);
        for (int i = 0; i < 10; i++)
            foreach (var runcs in new[] { true, false })
                t[runcs].Add(Sh.TimeMs(() => runOnce(runcs)));
        ReportLatency(manager, Median(t[true]), Median(t[false]));
    }

    /// <summary>Appends a latency line to .cache/ecosystem/latency.txt and the test output.</summary>
    public static void ReportLatency(string manager, double runcsMs, double runcMs)
    {
        var line = $"{manager}: one-shot `run ... true`, median of 10: runcs {runcsMs:F0} ms, runc {runcMs:F0} ms, ratio runcs/runc {runcsMs / runcMs:F2}";
        TestContext.Out.WriteLine(line);
        try
        {
            var f = Path.Combine(Env.Repo, ".cache", "ecosystem", "latency.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(f)!);
            File.AppendAllText(f, $"{DateTime.UtcNow:u} {line}\n");
        }
        catch (IOException) { }
    }
}

/// <summary>Runs programs with extra environment, a timeout, optionally on a pty.</summary>
public static class Sh
{
    public static Result Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null,
        int timeoutMs = 60_000, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin != null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs))
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutMs} ms\nstdout: {so.Result}\nstderr: {se.Result}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, so.Result, se.Result);
    }

    /// <summary>
    /// Runs a command line on a pty allocated by util-linux `script` (its stdin a pipe kept open,
    /// as an interactive user's would be), returns its exit status and what the terminal showed
    /// with the pty's CR-LF turned into LF.
    /// </summary>
    public static Result RunOnPty(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, int timeoutMs = 60_000)
    {
        var cmd = string.Join(' ', new[] { file }.Concat(args).Select(Quote));
        var psi = new ProcessStartInfo("/usr/bin/script")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-q", "-e", "-c", cmd, "/dev/null" }) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            throw new TimeoutException($"on a pty: {cmd} did not finish in {timeoutMs} ms\noutput: {so.Result}");
        }
        p.WaitForExit();
        p.StandardInput.Close();
        return new Result(p.ExitCode, so.Result.Replace("\r\r\n", "\n").Replace("\r\n", "\n"), se.Result);
    }

    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./=:,@+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Milliseconds a successful command takes.</summary>
    public static double TimeMs(Func<Result> run)
    {
        var sw = Stopwatch.StartNew();
        var r = run();
        sw.Stop();
        if (r.ExitCode != 0) Assert.Fail($"timed command failed: {r}");
        return sw.Elapsed.TotalMilliseconds;
    }
}

/// <summary>A daemon started by a test: its output in a log file, stopped with SIGTERM then SIGKILL.</summary>
public sealed class Daemon : IDisposable
{
    private readonly Process _p;
    public string LogPath { get; }
    public string Name { get; }

    private Daemon(string name, Process p, string log) { Name = name; _p = p; LogPath = log; }

    public static Daemon Start(string name, string file, IEnumerable<string> args, string log, string waitForSocket, int timeoutMs = 30_000)
    {
        // Through sh so the daemon's output goes straight to the file (no pipe for us to drain).
        var cmd = string.Join(' ', new[] { file }.Concat(args).Select(Sh.Quote)) + " >" + Sh.Quote(log) + " 2>&1 </dev/null";
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec " + cmd);
        var p = Process.Start(psi)!;
        var d = new Daemon(name, p, log);
        var sw = Stopwatch.StartNew();
        while (!File.Exists(waitForSocket))
        {
            if (p.HasExited || sw.ElapsedMilliseconds > timeoutMs)
            {
                var tail = d.LogTail();
                d.Dispose();
                Assert.Fail($"{name} did not come up (socket {waitForSocket}):\n{tail}");
            }
            Thread.Sleep(50);
        }
        return d;
    }

    public string LogTail(int lines = 30)
    {
        try { return string.Join('\n', File.ReadAllLines(LogPath).TakeLast(lines)); }
        catch (IOException) { return "(no log)"; }
    }

    public void Dispose()
    {
        try
        {
            if (!_p.HasExited)
            {
                Sys.kill(_p.Id, 15);
                if (!_p.WaitForExit(15_000)) { Sys.kill(_p.Id, 9); _p.WaitForExit(5_000); }
            }
        }
        catch (InvalidOperationException) { }
        _p.Dispose();
    }
}

/// <summary>Leftover detection and removal: mounts, cgroups, processes.</summary>
public static class Leftovers
{
    /// <summary>Mount points (from /proc/self/mountinfo) at or below dir.</summary>
    public static List<string> MountsUnder(string dir)
    {
        var res = new List<string>();
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length < 5) continue;
            var mp = f[4].Replace("\\040", " ");
            if (mp == dir || mp.StartsWith(dir + "/", StringComparison.Ordinal)) res.Add(mp);
        }
        return res;
    }

    /// <summary>Lazily unmounts everything at or below dir, deepest first, until nothing is left.</summary>
    public static void UnmountAll(string dir)
    {
        for (int round = 0; round < 5; round++)
        {
            var mps = MountsUnder(dir);
            if (mps.Count == 0) return;
            foreach (var mp in mps.OrderByDescending(m => m.Length)) Sys.umount2(mp, 2 /* MNT_DETACH */);
        }
    }

    /// <summary>Cgroup directories (v1 controllers and the v2/unified tree) whose path contains token.</summary>
    public static List<string> CgroupsContaining(string token, int maxDepth = 4)
    {
        var res = new List<string>();
        void Walk(string d, int depth)
        {
            string[] subs;
            try { subs = Directory.GetDirectories(d); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
            foreach (var s in subs)
            {
                if (Path.GetFileName(s).Contains(token, StringComparison.Ordinal)) res.Add(s);
                if (depth < maxDepth) Walk(s, depth + 1);
            }
        }
        Walk("/sys/fs/cgroup", 0);
        return res;
    }

    /// <summary>Removes cgroup dirs (deepest first); a cgroup with processes left stays and is reported.</summary>
    public static void RemoveCgroups(IEnumerable<string> dirs)
    {
        foreach (var d in dirs.OrderByDescending(x => x.Length))
            try { Directory.Delete(d); } catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { TestContext.Out.WriteLine($"cleanup: cgroup {d} not removed: {e.Message}"); }
    }

    /// <summary>Pids whose command line contains every token.</summary>
    public static List<int> ProcessesWith(params string[] tokens)
    {
        var res = new List<int>();
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid) || pid == Environment.ProcessId) continue;
            string cmd;
            try { cmd = File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' '); } catch (Exception) { continue; }
            if (tokens.All(t => cmd.Contains(t, StringComparison.Ordinal))) res.Add(pid);
        }
        return res;
    }

    public static void KillAll(IEnumerable<int> pids) { foreach (var p in pids) Sys.kill(p, 9); }

    /// <summary>Removes a directory tree after unmounting what is left in it.</summary>
    public static void RemoveTree(string dir)
    {
        if (!Directory.Exists(dir)) return;
        UnmountAll(dir);
        try { Directory.Delete(dir, true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // overlay work dirs can hold d--------- entries; one more try via rm.
            var r = Sh.Run("/bin/rm", ["-rf", dir]);
            if (r.ExitCode != 0) TestContext.Out.WriteLine($"cleanup of {dir} failed: {e.Message} {r.Stderr}");
        }
    }
}

internal static partial class Sys
{
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);
}
