using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>
/// runtime.md "create" errors and DESIGN.md "Errors and bad input": a create that fails at a later step
/// exits 1 with one line naming the step, and leaves no process, mount or state directory behind.
/// (No cgroup is created by runcs yet: the cgroup manager is not wired, so there is nothing to check there.)
/// </summary>
[TestFixture, NonParallelizable]
public class RollbackTests
{
    private static void ExpectCleanFailure(Bundle b, params string[] step)
    {
        var before = LcAssert.Take(b);
        var r = b.Create(b.NewId());
        LcAssert.FailedCleanly(b, r, before, step);
    }

    [Test]
    public void Rollback_BadMountSource()
    {
        using var b = new Bundle();
        b.AddMount("/mnt", "bind", "/nonexistent-runcs-lc-source", "rbind");
        b.Args("true");
        ExpectCleanFailure(b, "mounting", "/nonexistent-runcs-lc-source");
    }

    [Test]
    public void Rollback_BadMountType()
    {
        using var b = new Bundle();
        b.AddMount("/mnt", "nosuchfs-lc", "none");
        b.Args("true");
        ExpectCleanFailure(b, "mounting", "/mnt");
    }

    [Test]
    public void Rollback_CwdIsAFile()
    {
        using var b = new Bundle();
        b.Process["cwd"] = "/etc/passwd";
        b.Args("true");
        ExpectCleanFailure(b, "cwd", "/etc/passwd");
    }

    [Test]
    public void Rollback_MissingBinary()
    {
        using var b = new Bundle();
        b.Args("no-such-binary-lc");
        ExpectCleanFailure(b, "executable file not found", "no-such-binary-lc");
    }

    [Test]
    public void Rollback_MissingBinary_AbsolutePath()
    {
        using var b = new Bundle();
        b.Args("/bin/no-such-binary-lc");
        ExpectCleanFailure(b, "/bin/no-such-binary-lc");
    }

    [Test]
    public void Rollback_FailingHook()
    {
        using var b = new Bundle();
        b.AddHook("createRuntime", b.Script("fail.sh", "exit 7"));
        b.Args("true");
        ExpectCleanFailure(b, "createRuntime", "7");
    }

    [Test]
    public void Rollback_BadRlimit()
    {
        using var b = new Bundle();
        b.Process["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 1024, ["hard"] = 10_000_000 });
        b.Args("true");
        ExpectCleanFailure(b, "rlimit");
    }

    [Test]
    public void Rollback_BadSysctl()
    {
        using var b = new Bundle();
        b.Linux["sysctl"] = new JsonObject { ["net.ipv4.no_such_key_lc"] = "1" };
        b.Args("true");
        ExpectCleanFailure(b, "sysctl", "net.ipv4.no_such_key_lc");
    }

    [Test]
    public void Rollback_RunFailure_SameAsCreate()
    {
        using var b = new Bundle();
        b.Args("no-such-binary-lc");
        var before = LcAssert.Take(b);
        var r = b.RunContainer();
        LcAssert.FailedCleanly(b, r, before, "executable file not found");
    }

    [Test]
    public void Rollback_CreateKilledMidway_DeleteForceCleansUp()
    {
        // DESIGN.md "Errors and bad input": a kill -9 of the CLI mid-create leaves state that `delete --force` fully cleans.
        using var b = new Bundle();
        var marker = b.Path_("hook-started");
        b.AddHook("createRuntime", b.Script("slow.sh", $"touch '{marker}'; exec /bin/sleep 30"));
        b.Args("true");
        b.SaveConfig();
        var id = b.NewId();
        var before = LcAssert.Take(b);
        var psi = new System.Diagnostics.ProcessStartInfo(Env.Runcs, ["--root", b.RuncsRoot, "create", "--bundle", b.Dir, id])
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var deadline = Environment.TickCount64 + 10_000;
        while (!File.Exists(marker) && Environment.TickCount64 < deadline) Thread.Sleep(20);
        Assert.That(File.Exists(marker), "the createRuntime hook never started");
        p.Kill();
        p.WaitForExit();
        b.KillProcessesInDir(); // the orphaned hook (its command line names this test's temp dir)
        var d = Run.Exec(Env.Runcs, ["--root", b.RuncsRoot, "delete", "--force", id]);
        Assert.That(d.ExitCode, Is.EqualTo(0), d.ToString());
        Thread.Sleep(300);
        var after = LcAssert.Take(b);
        Assert.That(after.InitPids.Except(before.InitPids), Is.Empty, "runcs init left behind after delete --force");
        Assert.That(after.StateEntries, Is.Empty, "state left behind after delete --force");
    }
}
