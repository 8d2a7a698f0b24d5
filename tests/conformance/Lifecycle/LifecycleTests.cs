using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>
/// OCI runtime-spec "Lifecycle" and "Operations" (runtime.md) and runc's CLI semantics:
/// create/start/state/kill/delete/run/list.
/// </summary>
[TestFixture, NonParallelizable]
public class LifecycleTests
{
    [Test]
    public void Runtime_Create_StateIsCreatedWithPid_AndInitExeIsNotTheHostBinary()
    {
        // runtime.md "create" + "state"; CVE-2019-5736: init runs from a read-only view or sealed copy, never the host file.
        using var b = new Bundle();
        b.Args("sh", "-c", "echo started");
        var id = b.NewId();
        var r = b.Create(id);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var st = b.State(id)!;
        Assert.That(st["status"]!.GetValue<string>(), Is.EqualTo("created"));
        Assert.That(st["id"]!.GetValue<string>(), Is.EqualTo(id));
        int pid = st["pid"]!.GetValue<int>();
        Assert.That(pid, Is.GreaterThan(0));
        Assert.That(st["bundle"]!.GetValue<string>(), Is.EqualTo(b.Dir));
        var exe = new FileInfo($"/proc/{pid}/exe").LinkTarget ?? "";
        var host = Path.GetFullPath(Env.Runcs);
        var hostReal = new FileInfo(host).ResolveLinkTarget(true)?.FullName ?? host;
        Assert.That(exe, Is.Not.EqualTo(host).And.Not.EqualTo(hostReal), "init's /proc/pid/exe is the host binary");
        Assert.That(() => { using var f = new FileStream($"/proc/{pid}/exe", FileMode.Open, FileAccess.Write); f.WriteByte(0); },
            Throws.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>(), "opening init's exe for writing succeeded");
        Assert.That(b.ContainerOutput(id), Is.Empty, "the process ran before start");
    }

    [Test]
    public void Runtime_Start_RunsProcess_ThenStopped_AndListShowsIt()
    {
        // runtime.md "start", "state" (status stopped after exit), runc `list`.
        using var b = new Bundle();
        b.Args("sh", "-c", "echo hello-from-container");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        var s = b.Runcs("start", id);
        Assert.That(s.ExitCode, Is.EqualTo(0), s.ToString());
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.ContainerOutput(id), Is.EqualTo("hello-from-container\n"));
        var list = b.Runcs("list");
        Assert.That(list.ExitCode, Is.EqualTo(0), list.ToString());
        var row = LcAssert.Lines(list.Stdout).FirstOrDefault(l => l.StartsWith(id + " ", StringComparison.Ordinal));
        Assert.That(row, Is.Not.Null, list.Stdout);
        Assert.That(row, Does.Contain(" stopped "));
        var q = b.Runcs("list", "-q");
        Assert.That(LcAssert.Lines(q.Stdout), Does.Contain(id));
        var js = JsonNode.Parse(b.Runcs("list", "--format", "json").Stdout)!.AsArray();
        Assert.That(js.Any(e => e!["id"]!.GetValue<string>() == id && e["status"]!.GetValue<string>() == "stopped"), js.ToJsonString());
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
        Assert.That(Directory.Exists(Path.Combine(b.RuncsRoot, id)), Is.False, "state directory left after delete");
        Assert.That(b.Runcs("state", id).ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void Runtime_Start_WhileRunningOrStopped_Fails()
    {
        // runtime.md "start": attempting to start a container that is not created MUST generate an error.
        using var b = new Bundle();
        b.Args("sleep", "100");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Status(id), Is.EqualTo("running"));
        var again = b.Runcs("start", id);
        Assert.That(again.ExitCode, Is.EqualTo(1), again.ToString());
        Assert.That(again.Stderr, Does.Contain("running"));
        Assert.That(b.Runcs("kill", id, "KILL").ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        var stopped = b.Runcs("start", id);
        Assert.That(stopped.ExitCode, Is.EqualTo(1), stopped.ToString());
        Assert.That(stopped.Stderr, Does.Contain("stopped"));
    }

    [Test]
    public void Runtime_Run_ExitCodePropagates()
    {
        using var b = new Bundle();
        b.Args("sh", "-c", "echo out; exit 3");
        var r = b.RunContainer();
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stdout, Is.EqualTo("out\n"));
    }

    [Test]
    public void Runtime_Run_KilledBySignal_Exits128PlusN()
    {
        // Without a pid namespace the shell is not a namespace init, so it can SIGKILL itself.
        using var b = new Bundle();
        b.RemoveNamespace("pid");
        b.Args("sh", "-c", "kill -9 $$");
        var r = b.RunContainer();
        Assert.That(r.ExitCode, Is.EqualTo(137), r.ToString());
    }

    [Test]
    public void Runtime_Kill_DefaultIsSigterm_NamesWithAndWithoutSig_AndNumbers()
    {
        // runtime.md "kill"; runc: default SIGTERM, "USR1", "SIGUSR1", "10".
        using var b = new Bundle();
        b.Args("sh", "-c", "trap 'echo usr1' USR1; trap 'echo term; exit 0' TERM; echo ready; while true; do sleep 0.05; done");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        WaitOutput(b, id, "ready\n");
        int n = 0;
        foreach (var sig in new[] { "USR1", "SIGUSR1", "10" })
        {
            var k = b.Runcs("kill", id, sig);
            Assert.That(k.ExitCode, Is.EqualTo(0), $"kill {sig}: {k}");
            n++;
            WaitOutput(b, id, "ready\n" + string.Concat(Enumerable.Repeat("usr1\n", n)));
        }
        Assert.That(b.Runcs("kill", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.ContainerOutput(id), Does.EndWith("term\n"));
        var bad = b.Runcs("kill", id, "NOSUCHSIG");
        Assert.That(bad.ExitCode, Is.EqualTo(1), bad.ToString());
    }

    [Test]
    public void Runc_Run_ForwardsSignalsToPid1()
    {
        // runc `run`: signals received by the runtime are forwarded to the container's pid 1.
        using var b = new Bundle();
        b.Args("sh", "-c", "trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.05; done");
        b.SaveConfig();
        var outFile = b.Path_("run.out");
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh",
            ["-c", "exec \"$0\" \"$@\" > \"$OUT\" 2>&1 </dev/null", Env.Runcs, "--root", b.RuncsRoot, "run", "--bundle", b.Dir, b.NewId()])
        { UseShellExecute = false };
        psi.Environment["OUT"] = outFile;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var deadline = Environment.TickCount64 + 10_000;
        while (!(File.Exists(outFile) && File.ReadAllText(outFile).Contains("ready")) && Environment.TickCount64 < deadline) Thread.Sleep(20);
        Assert.That(File.ReadAllText(outFile), Does.Contain("ready"));
        Assert.That(Bundle.Kill(p.Id, 15), Is.EqualTo(0));
        if (!p.WaitForExit(10_000)) { p.Kill(); Assert.Fail("run did not exit after SIGTERM was forwarded"); }
        Assert.That(File.ReadAllText(outFile), Is.EqualTo("ready\ngot-term\n"));
        Assert.That(p.ExitCode, Is.EqualTo(5));
    }

    [Test]
    public void Runtime_Kill_StoppedContainer_Fails()
    {
        using var b = new Bundle();
        b.Args("true");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        var k = b.Runcs("kill", id, "KILL");
        Assert.That(k.ExitCode, Is.EqualTo(1), k.ToString());
        Assert.That(k.Stderr, Does.Contain("not running"));
    }

    [Test]
    public void Runtime_Delete_RunningFailsWithoutForce_ForceKills()
    {
        // runtime.md "delete": attempting to delete a container that is not stopped MUST generate an error.
        using var b = new Bundle();
        b.Args("sleep", "100");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        var d = b.Runcs("delete", id);
        Assert.That(d.ExitCode, Is.EqualTo(1), d.ToString());
        Assert.That(d.Stderr, Does.Contain("running"));
        Assert.That(b.Status(id), Is.EqualTo("running"));
        var f = b.Runcs("delete", "--force", id);
        Assert.That(f.ExitCode, Is.EqualTo(0), f.ToString());
        Assert.That(Directory.Exists(Path.Combine(b.RuncsRoot, id)), Is.False);
        Assert.That(WaitGone(pid), Is.True, "container process still alive after delete --force");
    }

    [Test]
    public void Runtime_Delete_CreatedContainer_KillsInit()
    {
        using var b = new Bundle();
        b.Args("true");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        Assert.That(WaitGone(pid), Is.True);
        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0), "delete --force of a missing container is not an error (runc)");
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(1));
    }

    // runtime.md "Kill": a created (not started) container's init is runcs itself, pid 1 of its
    // namespace, which ignores signals it has no handler for; SIGTERM must still stop it.
    [Test]
    public void Runtime_Kill_CreatedContainer_SigtermStopsIt()
    {
        using var b = new Bundle();
        b.Args("true");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        Assert.That(b.Runcs("kill", id, "TERM").ExitCode, Is.EqualTo(0));
        Assert.That(WaitGone(pid), Is.True, "init of the created container is still alive after SIGTERM");
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
    }

    // runc's create flags: a session keyring of the container's own ("_ses.<id>") unless --no-new-keyring.
    [Test]
    public void Runtime_Create_NewSessionKeyring_UnlessNoNewKeyring()
    {
        using var b = new Bundle();
        var masked = b.Linux["maskedPaths"]!.AsArray();
        for (int i = masked.Count - 1; i >= 0; i--) if (masked[i]!.GetValue<string>() == "/proc/keys") masked.RemoveAt(i);
        b.Sh("grep -o '_ses\\.[^ :]*' /proc/keys");
        b.SaveConfig();
        var id = b.NewId("kr");
        var r = b.RunContainer(id);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(b.ContainerOutput(id), Does.Contain("_ses." + id));
        var id2 = b.NewId("kr");
        var r2 = b.RunContainer(id2, "runcs", "--no-new-keyring");
        Assert.That(b.ContainerOutput(id2), Does.Not.Contain("_ses." + id2), r2.ToString());
    }

    [Test]
    public void Runtime_RunDetach_AndPidFile()
    {
        using var b = new Bundle();
        b.Args("sleep", "100");
        var id = b.NewId();
        var pidFile = b.Path_("pidfile");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = b.Tool("runcs", ["run", "--detach", "--pid-file", pidFile, "--bundle", b.Dir, id]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(20_000));
        var st = b.State(id)!;
        Assert.That(st["status"]!.GetValue<string>(), Is.EqualTo("running"));
        Assert.That(File.ReadAllText(pidFile).Trim(), Is.EqualTo(st["pid"]!.GetValue<int>().ToString()));
    }

    [Test]
    public void Runtime_Create_PidFile_ContainsInitPid()
    {
        using var b = new Bundle();
        b.Args("true");
        var id = b.NewId();
        var pidFile = b.Path_("p.pid");
        Assert.That(b.Create(id, "runcs", "--pid-file", pidFile).ExitCode, Is.EqualTo(0));
        Assert.That(File.ReadAllText(pidFile), Is.EqualTo(b.State(id)!["pid"]!.GetValue<int>().ToString()), "runc writes the bare pid without newline");
    }

    [TestCase("../escape")]
    [TestCase("a/b")]
    [TestCase(".")]
    [TestCase("..")]
    [TestCase("bad id")]
    public void Runtime_Create_InvalidId_Exits1_NothingLeft(string id)
    {
        using var b = new Bundle();
        b.Args("true");
        var before = LcAssert.Take(b);
        var r = b.Create(id);
        LcAssert.FailedCleanly(b, r, before, "id");
        Assert.That(Directory.Exists(Path.Combine(b.Dir, "escape")), Is.False);
    }

    [Test]
    public void Runtime_Create_DuplicateId_Exits1_FirstUntouched()
    {
        // runtime.md "create": MUST generate an error if the ID is not unique.
        using var b = new Bundle();
        b.Args("true");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        var inits = Bundle.RuncsInitPids();
        var r = b.Create(id);
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(r.Stderr, Does.Contain("exist").IgnoreCase);
        Thread.Sleep(200);
        Assert.That(Bundle.RuncsInitPids().Except(inits), Is.Empty);
        var st = b.State(id)!;
        Assert.That(st["status"]!.GetValue<string>(), Is.EqualTo("created"));
        Assert.That(st["pid"]!.GetValue<int>(), Is.EqualTo(pid));
    }

    internal static void WaitOutput(Bundle b, string id, string expected, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (b.ContainerOutput(id) != expected && Environment.TickCount64 < deadline) Thread.Sleep(30);
        Assert.That(b.ContainerOutput(id), Is.EqualTo(expected));
    }

    internal static bool WaitGone(int pid, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                if (state is 'Z' or 'X') return true;
            }
            catch (IOException) { return true; }
            Thread.Sleep(30);
        }
        return false;
    }
}
