using NUnit.Framework;

namespace Runcs.Conformance.Ecosystem;

/// <summary>
/// Podman 4.3 (Debian, through conmon) driving runcs: `podman --runtime bin/runcs run`.
/// Storage, run root, tmpdir and configuration are private to the fixture (CONTAINERS_CONF,
/// CONTAINERS_STORAGE_CONF); the runtime keeps its state in its default root, as under a real
/// Podman (which passes no --root; its exit command would drop a --runtime-flag root=).
/// </summary>
[TestFixture, NonParallelizable, Category("Ecosystem")]
public class PodmanTests
{
    public const string Podman = "/usr/bin/podman", Conmon = "/usr/bin/conmon";
    /// <summary>runcs's default state root (src/Runtime/Cli/Parser.cs), where Podman's containers live.</summary>
    private const string RuncsDefaultRoot = "/run/runcs", RuncDefaultRoot = "/run/runc";
    private string _dir = "";
    private Dictionary<string, string> _env = new();
    private readonly List<(string Id, bool Runcs)> _ids = [];
    private int _n;

    [OneTimeSetUp]
    public void Setup()
    {
        Eco.Require("podman", Podman, Conmon);
        var image = Eco.ImageDir();
        _dir = Eco.NewTempDir("podman");
        var conf = Path.Combine(_dir, "containers.conf");
        File.WriteAllText(conf, File.ReadAllText(Path.Combine(Env.Repo, "tests", "ecosystem", "containers.conf"))
            .Replace("@RUNCS@", Env.Runcs).Replace("@RUNC@", Eco.Runc));
        var storage = Path.Combine(_dir, "storage.conf");
        File.WriteAllText(storage, $"[storage]\ndriver = \"overlay\"\ngraphroot = \"{_dir}/root\"\nrunroot = \"{_dir}/runroot\"\n");
        _env = new() { ["CONTAINERS_CONF"] = conf, ["CONTAINERS_STORAGE_CONF"] = storage };
        var r = P(true, "load", "-i", Path.Combine(image, "oci.tar"));
        if (r.ExitCode != 0) Assert.Fail($"podman load failed: {r}");
    }

    [OneTimeTearDown]
    public void Teardown()
    {
        if (_dir.Length == 0) return;
        if (File.Exists(Podman) && _env.Count > 0)
        {
            try { P(true, "rm", "-a", "-f", "-t", "0"); } catch (TimeoutException) { }
        }
        Leftovers.KillAll(Leftovers.ProcessesWith(Conmon, _dir));
        foreach (var (id, runcs) in _ids)
        {
            if (Directory.Exists(Path.Combine(runcs ? RuncsDefaultRoot : RuncDefaultRoot, id)))
                Sh.Run(runcs ? Env.Runcs : Eco.Runc, ["delete", "--force", id]);
            Leftovers.RemoveCgroups(Leftovers.CgroupsContaining(id));
        }
        // Podman's cgroupfs parent; removal fails harmlessly while in use.
        var parents = Leftovers.CgroupsContaining("libpod_parent", 1).Where(d => Path.GetFileName(d) == "libpod_parent").ToList();
        Leftovers.RemoveCgroups(parents.Select(d => Path.Combine(d, "conmon")).Where(Directory.Exists).Concat(parents));
        Leftovers.RemoveTree(_dir);
    }

    /// <summary>podman with the fixture's private storage, selecting runcs or runc.</summary>
    private Result P(bool runcs, params string[] args) => Sh.Run(Podman, [.. Global(runcs), .. args], _env, 120_000);

    private string[] Global(bool runcs) =>
    [
        "--root", Path.Combine(_dir, "root"), "--runroot", Path.Combine(_dir, "runroot"), "--tmpdir", Path.Combine(_dir, "tmp"),
        "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        "--runtime", runcs ? Env.Runcs : Eco.Runc,
    ];

    /// <summary>`podman run` with a cidfile (to know the id even with --rm), no network, the seccomp switch.</summary>
    private (Result R, string Id) Run(bool runcs, string[] opts, params string[] cmd)
    {
        var cid = Path.Combine(_dir, $"cid-{++_n}");
        var r = P(runcs, ["run", "--cidfile", cid, "--network", "none", .. Eco.SecurityOpts, .. opts, Eco.ImageName, .. cmd]);
        var id = File.Exists(cid) ? File.ReadAllText(cid).Trim() : "";
        if (id.Length > 0) _ids.Add((id, runcs));
        return (r, id);
    }

    private Result RunOnPty(bool runcs, string[] opts, params string[] cmd) =>
        Sh.RunOnPty(Podman, [.. Global(runcs), "run", "--network", "none", .. Eco.SecurityOpts, .. opts, Eco.ImageName, .. cmd], _env);

    private void AssertNothingLeft(string id, bool runcs = true)
    {
        Assert.That(id, Is.Not.Empty, "no container id");
        var ps = P(runcs, "ps", "-a", "-q", "--no-trunc");
        Assert.That(ps.Stdout, Does.Not.Contain(id), "container left in podman");
        var state = Path.Combine(runcs ? RuncsDefaultRoot : RuncDefaultRoot, id);
        Assert.That(Directory.Exists(state), Is.False, $"runtime state {state} left behind");
        Assert.That(Leftovers.MountsUnder(_dir).Where(m => m.Contains(id) || m.EndsWith("/merged")), Is.Empty, "mounts left behind");
        Assert.That(Leftovers.CgroupsContaining(id), Is.Empty, "cgroups left behind");
        for (int i = 0; i < 50 && Leftovers.ProcessesWith(Conmon, id).Count > 0; i++) Thread.Sleep(100);
        Assert.That(Leftovers.ProcessesWith(Conmon, id), Is.Empty, "conmon left running");
    }

    [Test]
    public void RunRm_OutputAndExitCode()
    {
        var (r, id) = Run(true, ["--rm"], "sh", "-c", "echo hello-podman; echo to-stderr >&2; ulimit -n; exit 3");
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stdout, Is.EqualTo("hello-podman\n1024\n"), r.ToString());
        Assert.That(r.Stderr, Does.Contain("to-stderr"), r.ToString());
        AssertNothingLeft(id);
    }

    [Test]
    public void Detached_ExecTtyExecStop()
    {
        var name = $"det-{Guid.NewGuid().ToString("N")[..8]}";
        var (r, id) = Run(true, ["-d", "--name", name], "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout.Trim(), Is.EqualTo(id));

        var e = P(true, "exec", name, "sh", "-c", "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 6");
        Assert.That(e.ExitCode, Is.EqualTo(6), e.ToString());
        Assert.That(e.Stdout, Is.EqualTo("in-exec\nsh -c trap 'exit 0' TERM; sleep 300 & wait \n"), e.ToString());

        var t = Sh.RunOnPty(Podman, [.. Global(true), "exec", "-it", name, "sh", "-c", "tty; echo tty-exec; exit 7"], _env);
        Assert.That(t.ExitCode, Is.EqualTo(7), t.ToString());
        Assert.That(t.Stdout, Does.Match("/dev/pts/\\d+\ntty-exec\n"), t.ToString());

        var s = P(true, "stop", "-t", "10", name);
        Assert.That(s.ExitCode, Is.EqualTo(0), s.ToString());
        var code = P(true, "inspect", "-f", "{{.State.ExitCode}}", name);
        Assert.That(code.Stdout.Trim(), Is.EqualTo("0"), "the trapped SIGTERM exits 0: " + code);
        Assert.That(P(true, "rm", name).ExitCode, Is.EqualTo(0));
        AssertNothingLeft(id);
    }

    [Test]
    public void Tty_RunIt()
    {
        var cid = Path.Combine(_dir, $"cid-{++_n}");
        var r = RunOnPty(true, ["--rm", "-it", "--cidfile", cid], "sh", "-c", "tty; echo tty-run; exit 8");
        var id = File.Exists(cid) ? File.ReadAllText(cid).Trim() : "";
        if (id.Length > 0) _ids.Add((id, true));
        Assert.That(r.ExitCode, Is.EqualTo(8), r.ToString());
        Assert.That(r.Stdout, Does.Contain("/dev/pts/0\ntty-run\n"), r.ToString());
        AssertNothingLeft(id);
    }

    [Test]
    public void Error_MissingBinary_ReachesTheUser()
    {
        var (r, id) = Run(true, ["--rm"], "/nonexistent");
        Assert.That(r.ExitCode, Is.EqualTo(127), r.ToString());
        Assert.That(r.Stderr, Does.Contain($"{Env.Runcs}: ").And.Contain("exec: \\\"/nonexistent\\\": stat /nonexistent: no such file or directory"), r.ToString());
        P(true, "rm", "-f", id);
        AssertNothingLeft(id);
    }

    [Test]
    public void Error_UlimitAboveHardLimit_ReachesTheUser()
    {
        if (Caps.HasSysResource()) Assert.Ignore("this host grants CAP_SYS_RESOURCE: any hard limit can be raised");
        var hard = Caps.HardLimit("Max processes");
        var (r, id) = Run(true, ["--rm", "--ulimit", "nofile=1024:1024", "--ulimit", $"nproc={hard + 1}:{hard + 1}"], "true");
        Assert.That(r.ExitCode, Is.Not.EqualTo(0), r.ToString());
        // conmon runs the runtime with its own (lower) nproc limit: match any "above N".
        Assert.That(r.Stderr, Does.Match($@"{System.Text.RegularExpressions.Regex.Escape(Env.Runcs)}: .*setting rlimit RLIMIT_NPROC to soft={hard + 1} hard={hard + 1}: Operation not permitted \(raising the hard limit above \d+ needs CAP_SYS_RESOURCE\)"), r.ToString());
        P(true, "rm", "-f", id);
        AssertNothingLeft(id);
    }

    [Test]
    public void SameResultsAsRunc()
    {
        var results = new Dictionary<bool, List<string>>();
        foreach (var runcs in new[] { false, true })
        {
            var obs = new List<string>();
            var (r, id) = Run(runcs, ["--rm"], "sh", "-c", Scenario.OneShot);
            obs.Add($"one-shot exit {r.ExitCode}\n{r.Stdout}\nstderr: {r.Stderr}");
            var name = $"cmp-{(runcs ? "runcs" : "runc")}-{Guid.NewGuid().ToString("N")[..6]}";
            var (d, id2) = Run(runcs, ["-d", "--name", name], "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait");
            Assert.That(d.ExitCode, Is.EqualTo(0), d.ToString());
            var e = P(runcs, "exec", name, "sh", "-c", Scenario.Exec);
            obs.Add($"exec exit {e.ExitCode}\n{e.Stdout}\nstderr: {e.Stderr}");
            P(runcs, "stop", "-t", "10", name);
            obs.Add("stopped with exit " + P(runcs, "inspect", "-f", "{{.State.ExitCode}}", name).Stdout.Trim());
            P(runcs, "rm", name);
            var t = RunOnPty(runcs, ["--rm", "-it"], "sh", "-c", Scenario.Tty);
            obs.Add($"tty exit {t.ExitCode}\n{t.Stdout}");
            results[runcs] = obs;
            AssertNothingLeft(id, runcs); AssertNothingLeft(id2, runcs);
        }
        Eco.AssertSameAsRunc(GetType().Name, "Podman", results, Scenario.KnownDifferences);
    }

    [Test]
    public void Latency_RuncsVsRunc() =>
        Eco.CompareLatency("Podman (podman run --rm)", runcs => Run(runcs, ["--rm"], "true").R);
}

/// <summary>This process's capabilities and limits (for tests that depend on CAP_SYS_RESOURCE).</summary>
public static class Caps
{
    public static bool HasSysResource()
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith("CapEff:")) return (Convert.ToUInt64(l[7..].Trim(), 16) & (1UL << 24)) != 0;
        return false;
    }

    /// <summary>The hard limit of a /proc/self/limits row, e.g. "Max processes".</summary>
    public static ulong HardLimit(string row)
    {
        foreach (var l in File.ReadLines("/proc/self/limits"))
            if (l.StartsWith(row))
            {
                var f = l[row.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return f[1] == "unlimited" ? ulong.MaxValue : ulong.Parse(f[1]);
            }
        throw new InvalidOperationException($"no {row} in /proc/self/limits");
    }
}
