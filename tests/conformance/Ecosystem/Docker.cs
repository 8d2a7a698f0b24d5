using NUnit.Framework;

namespace Runcs.Conformance.Ecosystem;

/// <summary>
/// Docker 20.10 (Debian docker.io) over the test's own containerd: dockerd with
/// `--add-runtime runcs=bin/runcs`, containers run with `--runtime runcs` (runc for the comparison).
/// The daemon's data root, exec root, socket and pidfile are private to the fixture.
/// </summary>
[TestFixture, NonParallelizable, Category("Ecosystem")]
public class DockerTests
{
    public const string Dockerd = "/usr/sbin/dockerd";
    /// <summary>The client of the docker.io package (another docker may be earlier in PATH).</summary>
    public const string DockerCli = "/usr/bin/docker";
    private string _dir = "";
    private ContainerdHost? _containerd;
    private Daemon? _dockerd;
    private Dictionary<string, string> _env = new();
    private readonly List<string> _ids = [];

    private string ExecRoot => Path.Combine(_dir, "exec");

    [OneTimeSetUp]
    public void Setup()
    {
        Eco.Require("docker.io", Dockerd, DockerCli);
        Eco.Require("containerd", ContainerdHost.Containerd, ContainerdHost.Shim);
        var image = Eco.ImageDir();
        _dir = Eco.NewTempDir("docker");
        var cdir = Directory.CreateDirectory(Path.Combine(_dir, "containerd")).FullName;
        _containerd = new ContainerdHost(cdir);
        var config = Path.Combine(_dir, "daemon.json");
        File.WriteAllText(config, File.ReadAllText(Path.Combine(Env.Repo, "tests", "ecosystem", "daemon.json")).Replace("@RUNCS@", Env.Runcs));
        var sock = Path.Combine(_dir, "docker.sock");
        _dockerd = Daemon.Start("dockerd", Dockerd,
        [
            "--config-file", config, "--data-root", Path.Combine(_dir, "data"), "--exec-root", ExecRoot,
            "--pidfile", Path.Combine(_dir, "docker.pid"), "-H", "unix://" + sock, "--containerd", _containerd.Socket,
            "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--bridge=none", "--storage-driver", "overlay2",
        ], Path.Combine(_dir, "dockerd.log"), sock, 60_000);
        _env = new() { ["DOCKER_HOST"] = "unix://" + sock, ["DOCKER_CONFIG"] = Path.Combine(_dir, "client") };
        for (int i = 0; i < 100 && D("version").ExitCode != 0; i++) Thread.Sleep(100);
        var r = D("load", "-i", Path.Combine(image, "docker.tar"));
        if (r.ExitCode != 0) Assert.Fail($"docker load failed: {r}\n{_dockerd.LogTail()}");
    }

    [OneTimeTearDown]
    public void Teardown()
    {
        if (_dockerd != null)
        {
            try
            {
                var ids = D("ps", "-a", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (ids.Length > 0) D(["rm", "-f", .. ids]);
            }
            catch (TimeoutException) { }
            _dockerd.Dispose();
        }
        if (_containerd != null)
        {
            _containerd.RemoveAll("moby");
            _containerd.Dispose();
        }
        foreach (var id in _ids) Leftovers.RemoveCgroups(Leftovers.CgroupsContaining(id));
        // dockerd's cgroup parent (/docker in every hierarchy); removal fails harmlessly while in use.
        Leftovers.RemoveCgroups(Leftovers.CgroupsContaining("docker", 1).Where(d => Path.GetFileName(d) == "docker"));
        if (_dir.Length > 0) Leftovers.RemoveTree(_dir);
    }

    [TearDown]
    public void ShowLogOnFailure()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed && _dockerd != null)
            TestContext.Out.WriteLine("dockerd log:\n" + _dockerd.LogTail());
    }

    private Result D(params string[] args) => Sh.Run(DockerCli, args, _env, 120_000);

    private static string Runtime(bool runcs) => runcs ? "runcs" : "runc";

    private (Result R, string Id) Run(bool runcs, string[] opts, params string[] cmd)
    {
        var cid = Path.Combine(_dir, $"cid-{Guid.NewGuid():N}");
        var r = D(["run", "--cidfile", cid, "--runtime", Runtime(runcs), "--network", "none", .. Eco.SecurityOpts, .. opts, Eco.ImageName, .. cmd]);
        var id = File.Exists(cid) ? File.ReadAllText(cid).Trim() : "";
        if (id.Length > 0) _ids.Add(id);
        return (r, id);
    }

    private (Result R, string Id) RunOnPty(bool runcs, string[] opts, params string[] cmd)
    {
        var cid = Path.Combine(_dir, $"cid-{Guid.NewGuid():N}");
        var r = Sh.RunOnPty(DockerCli, ["run", "--cidfile", cid, "--runtime", Runtime(runcs), "--network", "none", .. Eco.SecurityOpts, .. opts, Eco.ImageName, .. cmd], _env);
        var id = File.Exists(cid) ? File.ReadAllText(cid).Trim() : "";
        if (id.Length > 0) _ids.Add(id);
        return (r, id);
    }

    private void AssertNothingLeft(string id, bool runcs = true)
    {
        Assert.That(id, Is.Not.Empty, "no container id");
        // --rm removal finishes shortly after the client returns.
        for (int i = 0; i < 50 && D("ps", "-a", "-q", "--no-trunc").Stdout.Contains(id); i++) Thread.Sleep(100);
        Assert.That(D("ps", "-a", "-q", "--no-trunc").Stdout, Does.Not.Contain(id), "container left in docker");
        Assert.That(_containerd!.Ctr("moby", "containers", "ls", "-q").Stdout, Does.Not.Contain(id), "container left in containerd");
        var state = Path.Combine(ExecRoot, "runtime-" + Runtime(runcs), "moby", id);
        Assert.That(Directory.Exists(state), Is.False, $"runtime state {state} left behind");
        Assert.That(Leftovers.MountsUnder(_dir).Where(m => m.Contains(id) || m.EndsWith("/merged")), Is.Empty, "mounts left behind");
        Assert.That(Leftovers.CgroupsContaining(id), Is.Empty, "cgroups left behind");
        for (int i = 0; i < 50 && Leftovers.ProcessesWith(ContainerdHost.Shim, "-id " + id).Count > 0; i++) Thread.Sleep(100);
        Assert.That(Leftovers.ProcessesWith(ContainerdHost.Shim, "-id " + id), Is.Empty, "shim left running");
    }

    [Test]
    public void RunRm_OutputAndExitCode()
    {
        var (r, id) = Run(true, ["--rm"], "sh", "-c", "echo hello-docker; echo to-stderr >&2; exit 3");
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stdout, Is.EqualTo("hello-docker\n"), r.ToString());
        Assert.That(r.Stderr, Does.Contain("to-stderr"), r.ToString());
        AssertNothingLeft(id);
    }

    [Test]
    public void Detached_ExecTtyExecStop()
    {
        var (r, id) = Run(true, ["-d"], "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout.Trim(), Is.EqualTo(id));
        var e = D("exec", id, "sh", "-c", "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 6");
        Assert.That(e.ExitCode, Is.EqualTo(6), e.ToString());
        Assert.That(e.Stdout, Is.EqualTo("in-exec\nsh -c trap 'exit 0' TERM; sleep 300 & wait \n"), e.ToString());
        var t = Sh.RunOnPty(DockerCli, ["exec", "-it", id, "sh", "-c", "tty; echo tty-exec; exit 7"], _env);
        Assert.That(t.ExitCode, Is.EqualTo(7), t.ToString());
        Assert.That(t.Stdout, Does.Match("/dev/pts/\\d+\ntty-exec\n"), t.ToString());
        var s = D("stop", "-t", "10", id);
        Assert.That(s.ExitCode, Is.EqualTo(0), s.ToString());
        Assert.That(D("inspect", "-f", "{{.State.ExitCode}}", id).Stdout.Trim(), Is.EqualTo("0"), "the trapped SIGTERM exits 0");
        Assert.That(D("rm", id).ExitCode, Is.EqualTo(0));
        AssertNothingLeft(id);
    }

    [Test]
    public void RmForce_RunningContainer()
    {
        var (r, id) = Run(true, ["-d"], "sleep", "300");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var rm = D("rm", "-f", id);
        Assert.That(rm.ExitCode, Is.EqualTo(0), rm.ToString());
        AssertNothingLeft(id);
    }

    [Test]
    public void Tty_RunT()
    {
        var (r, id) = RunOnPty(true, ["--rm", "-t"], "sh", "-c", "tty; echo tty-run; exit 8");
        Assert.That(r.ExitCode, Is.EqualTo(8), r.ToString());
        Assert.That(r.Stdout, Does.Contain("/dev/pts/0\ntty-run\n"), r.ToString());
        AssertNothingLeft(id);
    }

    [Test]
    public void Error_MissingBinary_ReachesTheUser()
    {
        var (r, id) = Run(true, ["--rm"], "/nonexistent");
        Assert.That(r.ExitCode, Is.EqualTo(127), r.ToString());
        Assert.That(r.Stderr, Does.Contain("OCI runtime create failed: exec: \"/nonexistent\": stat /nonexistent: no such file or directory"), r.ToString());
        Assert.That(r.Stderr, Does.Not.Contain("runc create failed"), "the message must be runcs's, not runc's");
        D("rm", "-f", id);
        AssertNothingLeft(id);
    }

    [Test]
    public void Error_UlimitAboveHardLimit_ReachesTheUser()
    {
        if (Caps.HasSysResource()) Assert.Ignore("this host grants CAP_SYS_RESOURCE: any hard limit can be raised");
        const ulong n = 8_388_608;
        var (r, id) = Run(true, ["--rm", "--ulimit", $"nproc={n}:{n}"], "true");
        Assert.That(r.ExitCode, Is.Not.EqualTo(0), r.ToString());
        Assert.That(r.Stderr, Does.Match($@"OCI runtime create failed: setting rlimit RLIMIT_NPROC to soft={n} hard={n}: Operation not permitted \(raising the hard limit above \d+ needs CAP_SYS_RESOURCE\)"), r.ToString());
        D("rm", "-f", id);
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
            var (d, id2) = Run(runcs, ["-d"], "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait");
            Assert.That(d.ExitCode, Is.EqualTo(0), d.ToString());
            var e = D("exec", id2, "sh", "-c", Scenario.Exec);
            obs.Add($"exec exit {e.ExitCode}\n{e.Stdout}\nstderr: {e.Stderr}");
            D("stop", "-t", "10", id2);
            obs.Add("stopped with exit " + D("inspect", "-f", "{{.State.ExitCode}}", id2).Stdout.Trim());
            D("rm", id2);
            var (t, id3) = RunOnPty(runcs, ["--rm", "-t"], "sh", "-c", Scenario.Tty);
            obs.Add($"tty exit {t.ExitCode}\n{t.Stdout}");
            results[runcs] = obs;
            AssertNothingLeft(id, runcs); AssertNothingLeft(id2, runcs); AssertNothingLeft(id3, runcs);
        }
        Eco.AssertSameAsRunc(GetType().Name, "Docker", results, Scenario.KnownDifferences);
    }

    [Test]
    public void Latency_RuncsVsRunc() =>
        Eco.CompareLatency("Docker (docker run --rm)", runcs => Run(runcs, ["--rm"], "true").R);
}
