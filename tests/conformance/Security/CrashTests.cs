using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Security;

/// <summary>
/// Issue #8 "crash consistency": the runcs CLI is SIGKILLed at each stage of `create` and `exec`, with
/// no fault hook in the runtime: strace traces the CLI's main thread and injects SIGKILL on the Nth
/// call of a syscall that marks a stage (`strace -e inject=SYSCALL:signal=SIGKILL:when=N`). After each
/// kill, `state` reports the truth (a status that matches the process, or "does not exist") and
/// `delete --force` removes everything: state directory, processes, cgroups.
/// </summary>
[TestFixture, NonParallelizable, Category("Security")]
public class CrashTests
{

    /// <summary>The stages of create on the CLI's main thread (see the comment of each point).</summary>
    private static readonly (string Syscall, int When, string Stage)[] CreatePoints =
    [
        ("mkdir", 2, "claiming the state directory"),
        ("mknodat", 1, "state.json written, before exec.fifo"),
        ("rename", 2, "fifo made, recording the cgroup paths before any cgroup exists"),
        ("mkdir", 5, "cgroups partly created"),
        ("clone", 1, "cgroups made and limited, before stage 1 exists"),
        ("wait4", 1, "stage 1 joined its cgroups and started init"),
        ("rename", 3, "init pid known, being recorded"),
        ("exit_group", 1, "create finished (control)"),
    ];

    private static IEnumerable<TestCaseData> CreateCases() =>
        CreatePoints.Select(p => new TestCaseData(p.Syscall, p.When).SetName($"Crash_KillCliDuringCreate_{p.Syscall}{p.When}").SetDescription(p.Stage));

    private static void RequireStrace()
    {
        try { if (Run.Exec("strace", ["-V"]).ExitCode != 0) Assert.Ignore("strace does not work here"); }
        catch (System.ComponentModel.Win32Exception) { Assert.Ignore("strace is not installed"); }
    }

    /// <summary>Runs runcs under strace, SIGKILLed at the Nth <paramref name="syscall"/> of its main thread.</summary>
    private static Result KilledAt(Bundle b, string syscall, int when, params string[] args)
    {
        b.SaveConfig();
        var io = Path.Combine(b.Dir, $"strace-{Guid.NewGuid():N}");
        return Bundle.ExecToFiles("strace", ["-o", "/dev/null", "-e", $"trace={syscall}", "-e", $"inject={syscall}:signal=SIGKILL:when={when}",
            Env.Runcs, "--root", b.RuncsRoot, .. args], io + ".out", io + ".err", 60_000);
    }

    private static bool Alive(int pid) =>
        pid > 0 && File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Split(") ")[^1].StartsWith("Z");

    /// <summary>`state` tells the truth: "does not exist", or a status that matches whether its pid lives.</summary>
    private static void StateIsTruthful(Bundle b, string id)
    {
        var r = b.Runcs("state", id);
        if (r.ExitCode != 0)
        {
            Sec.CleanFailure(r, "state: ");
            return;
        }
        var st = JsonNode.Parse(r.Stdout)!.AsObject();
        var status = st["status"]!.GetValue<string>();
        int pid = st["pid"]?.GetValue<int>() ?? 0;
        if (status is "created" or "running" or "paused") Assert.That(Alive(pid), $"state says {status} but pid {pid} is not alive: {r.Stdout}");
        else Assert.That(status, Is.EqualTo("stopped"), r.Stdout);
    }

    private static void DeleteForceLeavesNothing(Bundle b, string id, string cgroupName, HashSet<int> initBefore)
    {
        var del = b.Runcs("delete", "--force", id);
        if (del.ExitCode != 0)
        {
            Sec.CleanFailure(del, "delete --force: ");
            Assert.That(del.Stderr, Does.Contain("not exist").IgnoreCase, del.ToString());
        }
        Assert.That(Directory.Exists(Path.Combine(b.RuncsRoot, id)), Is.False, "state directory left behind");
        Assert.That(Sec.Eventually(() => !Bundle.RuncsInitPids().Except(initBefore).Any(), 5000), "runcs init left behind");
        Assert.That(Sec.Eventually(() => b.ProcessesInDir().Count == 0, 5000), "processes left behind: " + string.Join(' ', b.ProcessesInDir()));
        Assert.That(Sec.Eventually(() => Sec.CgroupDirs(cgroupName).Count == 0, 5000), "cgroups left behind: " + string.Join(' ', Sec.CgroupDirs(cgroupName)));
        Assert.That(b.State(id), Is.Null, "state still answers after delete --force");
    }

    [TestCaseSource(nameof(CreateCases))]
    public void Crash_KillCliDuringCreate(string syscall, int when)
    {
        RequireStrace();
        using var b = new Bundle(copyRootfs: true);
        var cg = Sec.PrivateCgroup(b, "crash");
        b.Linux["resources"] = new JsonObject { ["pids"] = new JsonObject { ["limit"] = 100 } };
        b.Args("sleep", "30");
        var id = b.NewId("cr");
        var initBefore = Bundle.RuncsInitPids();
        var r = KilledAt(b, syscall, when, "create", "--bundle", b.Dir, id);
        TestContext.Out.WriteLine($"create under strace: {r}");
        // The orphans of a killed create notice the CLI is gone (sync socket EOF) and exit.
        Thread.Sleep(200);
        StateIsTruthful(b, id);
        DeleteForceLeavesNothing(b, id, cg, initBefore);
    }

    private static readonly (string Syscall, int When, string Stage)[] ExecPoints =
    [
        ("clone", 1, "before stage 1 exists"),
        ("write", 1, "stage 1 made, joining the cgroup"),
        ("wait4", 1, "stage 2 launched / exec'd"),
    ];

    private static IEnumerable<TestCaseData> ExecCases() =>
        ExecPoints.Select(p => new TestCaseData(p.Syscall, p.When).SetName($"Crash_KillCliDuringExec_{p.Syscall}{p.When}").SetDescription(p.Stage));

    [TestCaseSource(nameof(ExecCases))]
    public void Crash_KillCliDuringExec(string syscall, int when)
    {
        RequireStrace();
        using var b = new Bundle(copyRootfs: true);
        var cg = Sec.PrivateCgroup(b, "crashx");
        b.Args("sleep", "60");
        var id = b.NewId("cx");
        var initBefore = Bundle.RuncsInitPids();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        var r = KilledAt(b, syscall, when, "exec", id, "sleep", "40");
        TestContext.Out.WriteLine($"exec under strace: {r}");
        Thread.Sleep(200);
        // The container is untouched by a dying exec.
        Assert.That(b.Status(id), Is.EqualTo("running"));
        StateIsTruthful(b, id);
        // Exec still works afterwards (no stale lock or state).
        var again = b.Runcs("exec", id, "true");
        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        DeleteForceLeavesNothing(b, id, cg, initBefore);
    }
}
