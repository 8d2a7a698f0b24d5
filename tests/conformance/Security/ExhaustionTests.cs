using System.Diagnostics;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Security;

/// <summary>
/// Issue #8 "resource exhaustion": a fork bomb under pids.max, a memory hog under a memory limit and a
/// container that fills its tmpfs. The host and runcs stay healthy (state/list/exec answer quickly),
/// the limits hold, the events are reported by `runcs events`, and delete --force cleans up.
/// </summary>
[TestFixture, NonParallelizable, Category("Security")]
public class ExhaustionTests
{
    private static JsonObject Stats(Bundle b, string id)
    {
        var r = b.Runcs("events", "--stats", id);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return JsonNode.Parse(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0])!.AsObject();
    }

    /// <summary>runcs answers quickly while a container misbehaves.</summary>
    private static void RuncsHealthy(Bundle b, string id)
    {
        var sw = Stopwatch.StartNew();
        Assert.That(b.Runcs("state", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("list").ExitCode, Is.EqualTo(0));
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(5000), "runcs state/list took too long");
    }

    [Test]
    public void Exhaustion_ForkBomb_HeldByPidsMax()
    {
        using var b = new Bundle();
        var cg = Sec.PrivateCgroup(b, "bomb");
        b.Linux["resources"] = new JsonObject { ["pids"] = new JsonObject { ["limit"] = 64 } };
        b.Sh("b() { b | b & }; b; sleep 60");
        var id = b.NewId("fb");
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Thread.Sleep(1500);
        RuncsHealthy(b, id);
        var pids = Stats(b, id)["data"]!["pids"]!;
        TestContext.Out.WriteLine("pids stats: " + pids.ToJsonString());
        Assert.That(pids["current"]!.GetValue<ulong>(), Is.LessThanOrEqualTo(64UL));
        Assert.That(pids["limit"]!.GetValue<ulong>(), Is.EqualTo(64UL));
        // The host can still fork.
        Assert.That(Run.Exec("true", []).ExitCode, Is.EqualTo(0));
        var sw = Stopwatch.StartNew();
        var del = b.Runcs("delete", "--force", id);
        Assert.That(del.ExitCode, Is.EqualTo(0), del.ToString());
        TestContext.Out.WriteLine($"delete --force of the fork bomb took {sw.ElapsedMilliseconds} ms");
        Assert.That(Sec.Eventually(() => Sec.CgroupDirs(cg).Count == 0), "cgroups left behind");
    }

    [Test]
    public void Exhaustion_MemoryHog_OomKilledAndReported()
    {
        using var b = new Bundle();
        var cg = Sec.PrivateCgroup(b, "hog");
        b.Linux["resources"] = new JsonObject { ["memory"] = new JsonObject { ["limit"] = 32L << 20, ["swap"] = 32L << 20 } };
        // tail buffers /dev/zero (no newline) until the cgroup's OOM killer stops it; pid 1 survives and reports.
        b.Sh("tail /dev/zero; echo hog-exit=$?; sleep 60");
        var id = b.NewId("mh");
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        var events = Path.Combine(b.Dir, "events.out");
        var evProc = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"exec \"$0\" --root \"$1\" events --interval 1s \"$2\" > \"$3\" 2>&1", Env.Runcs, b.RuncsRoot, id, events]));
        b.OnCleanup(() => { try { evProc!.Kill(); } catch (Exception) { } });
        Thread.Sleep(300);
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(Sec.Eventually(() => b.ContainerOutput(id).Contains("hog-exit="), 20_000), "the memory hog was not stopped");
        TestContext.Out.WriteLine("container: " + b.ContainerOutput(id));
        Assert.That(b.ContainerOutput(id), Does.Contain("hog-exit=137"), "the hog was not OOM-killed");
        RuncsHealthy(b, id);
        var mem = Stats(b, id)["data"]!["memory"]!;
        TestContext.Out.WriteLine("memory stats: " + mem.ToJsonString());
        Assert.That(mem["usage"]!["limit"]!.GetValue<ulong>(), Is.EqualTo(32UL << 20));
        // The peak reached the limit (this kernel's v1 memory.failcnt stays 0 even after an OOM kill; oom_control counts it).
        Assert.That(mem["usage"]!["max"]!.GetValue<ulong>(), Is.EqualTo(32UL << 20), "the peak usage does not show the limit was hit");
        Assert.That(Sec.Eventually(() => File.Exists(events) && File.ReadAllText(events).Contains("\"oom\""), 5000),
            "no oom event from `runcs events`: " + (File.Exists(events) ? File.ReadAllText(events)[..Math.Min(500, File.ReadAllText(events).Length)] : ""));
        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        Assert.That(evProc!.WaitForExit(10_000), "`runcs events` did not end when the container was deleted");
        Assert.That(Sec.Eventually(() => Sec.CgroupDirs(cg).Count == 0), "cgroups left behind");
    }

    [Test]
    public void Exhaustion_FillTmpfs_ContainedAndHostFine()
    {
        using var b = new Bundle();
        b.AddMount("/data", "tmpfs", "tmpfs", "size=2m");
        b.Sh("dd if=/dev/zero of=/data/fill bs=64k count=1000 2>&1; echo dd-exit=$?; df -k /data | tail -1; echo more > /data/x || echo write-refused");
        var r = b.RunContainer();
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        TestContext.Out.WriteLine(r.Stdout);
        Assert.That(r.Stdout, Does.Contain("No space left on device").Or.Contain("dd-exit=1"));
        Assert.That(r.Stdout, Does.Contain("write-refused"));
        // Nothing reached the host's /tmp or the bundle.
        Assert.That(Bundle.MountsUnder(b.Dir), Is.Empty);
        Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty);
    }
}
