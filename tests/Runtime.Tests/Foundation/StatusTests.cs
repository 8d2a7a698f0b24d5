using System.Globalization;
using NUnit.Framework;
using Runcs.Linux;
using Runcs.State;

namespace Runcs.Tests.Foundation;

/// <summary>
/// Status derivation (DESIGN.md "State"; runtime-spec runtime.md "State") over a fake /proc:
/// the container dir and /proc root are temp directories this test writes.
/// </summary>
[TestFixture]
public class StatusTests : TempDirTest
{
    private string Proc => Path.Combine(Tmp, "proc");
    private string CDir => Path.Combine(Tmp, "c1");

    [SetUp]
    public void Dirs() { Directory.CreateDirectory(Proc); Directory.CreateDirectory(CDir); }

    private static string StatLine(int pid, string comm, char state, ulong start) =>
        $"{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 {start} 2363392 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    private void FakeProc(int pid, char state, ulong start, string comm = "sleep")
    {
        var d = Path.Combine(Proc, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "stat"), StatLine(pid, comm, state, start));
    }

    private static StoredState S(int pid, ulong start, bool started = true) => new() { Id = "c1", Pid = pid, PidStartTime = start, Started = started };

    [Test]
    public void MatchingStartTime_Running()
    {
        FakeProc(100, 'S', 5555);
        Assert.That(StatusDeriver.Derive(S(100, 5555), CDir, Proc), Is.EqualTo(Status.Running));
    }

    [Test]
    public void MismatchedStartTime_Stopped_PidReused()
    {
        FakeProc(100, 'S', 5556);
        Assert.That(StatusDeriver.Derive(S(100, 5555), CDir, Proc), Is.EqualTo(Status.Stopped));
    }

    [Test]
    public void NoSuchProcess_Stopped()
    {
        Assert.That(StatusDeriver.Derive(S(100, 5555), CDir, Proc), Is.EqualTo(Status.Stopped));
    }

    [TestCase('Z')]
    [TestCase('X')]
    public void Zombie_Stopped(char state)
    {
        FakeProc(100, state, 5555);
        Assert.That(StatusDeriver.Derive(S(100, 5555), CDir, Proc), Is.EqualTo(Status.Stopped));
    }

    [Test]
    public void ZeroPid_Stopped()
    {
        Assert.That(StatusDeriver.Derive(S(0, 0), CDir, Proc), Is.EqualTo(Status.Stopped));
    }

    [Test]
    public void FifoPresentAndNotStarted_Created()
    {
        FakeProc(100, 'S', 5555);
        Assert.That(Libc.mkfifo(Path.Combine(CDir, StateStore.FifoName), 0x180), Is.EqualTo(0));
        Assert.That(StatusDeriver.Derive(S(100, 5555, started: false), CDir, Proc), Is.EqualTo(Status.Created));
    }

    [Test]
    public void FifoPresentButStarted_Running()
    {
        FakeProc(100, 'S', 5555);
        File.WriteAllText(Path.Combine(CDir, StateStore.FifoName), "");
        Assert.That(StatusDeriver.Derive(S(100, 5555, started: true), CDir, Proc), Is.EqualTo(Status.Running));
    }

    [TestCase("FROZEN", Status.Paused)]
    [TestCase("FREEZING", Status.Paused)]
    [TestCase("THAWED", Status.Running)]
    public void FreezerV1(string freezer, string expected)
    {
        FakeProc(100, 'S', 5555);
        var cg = Path.Combine(Tmp, "freezer");
        Directory.CreateDirectory(cg);
        File.WriteAllText(Path.Combine(cg, "freezer.state"), freezer + "\n");
        var s = S(100, 5555);
        s.CgroupPaths = new() { ["freezer"] = cg };
        Assert.That(StatusDeriver.Derive(s, CDir, Proc), Is.EqualTo(expected));
    }

    [TestCase("1", Status.Paused)]
    [TestCase("0", Status.Running)]
    public void FreezerV2(string freeze, string expected)
    {
        FakeProc(100, 'S', 5555);
        var cg = Path.Combine(Tmp, "cg2");
        Directory.CreateDirectory(cg);
        File.WriteAllText(Path.Combine(cg, "cgroup.freeze"), freeze + "\n");
        var s = S(100, 5555);
        s.CgroupPaths = new() { [""] = cg };
        Assert.That(StatusDeriver.Derive(s, CDir, Proc), Is.EqualTo(expected));
    }

    [Test]
    public void FrozenButDead_Stopped()
    {
        var cg = Path.Combine(Tmp, "freezer");
        Directory.CreateDirectory(cg);
        File.WriteAllText(Path.Combine(cg, "freezer.state"), "FROZEN\n");
        var s = S(100, 5555);
        s.CgroupPaths = new() { ["freezer"] = cg };
        Assert.That(StatusDeriver.Derive(s, CDir, Proc), Is.EqualTo(Status.Stopped));
    }

    [Test]
    public void ToOci_StoppedHasPidZero_OthersKeepPid()
    {
        var s = S(100, 5555);
        s.Bundle = "/b"; s.Annotations = new() { ["a"] = "b" };
        Assert.That(StatusDeriver.ToOci(s, Status.Stopped).Pid, Is.EqualTo(0));
        var o = StatusDeriver.ToOci(s, Status.Running);
        Assert.That(o.Pid, Is.EqualTo(100));
        Assert.That(o.OciVersion, Is.EqualTo("1.3.0"));
        Assert.That(o.Bundle, Is.EqualTo("/b"));
        Assert.That(o.Annotations, Is.EqualTo(s.Annotations));
    }

    [Test]
    public void RealProc_OwnProcessIsAlive()
    {
        var st = ProcessInfo.StartTime(Environment.ProcessId);
        Assert.That(st, Is.Not.Null.And.GreaterThan(0UL));
        Assert.That(StatusDeriver.Derive(S(Environment.ProcessId, st!.Value), CDir), Is.EqualTo(Status.Running));
    }

    [TestCase("sleep")]
    [TestCase("a b c")]
    [TestCase("x) S 1 2 (y")]
    [TestCase(")")]
    [TestCase("((")]
    [TestCase("")]
    public void ParseStat_CommWithSpacesAndParens(string comm)
    {
        var st = ProcessInfo.ParseStat(StatLine(7, comm, 'R', 987654321UL), out var state);
        Assert.That(st, Is.EqualTo(987654321UL));
        Assert.That(state, Is.EqualTo('R'));
    }

    [TestCase("")]
    [TestCase("7 (x")]
    [TestCase("7 (x) S 1 2 3")]
    [TestCase("7 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 notanumber 20")]
    public void ParseStat_Malformed_IsNull(string line)
    {
        Assert.That(ProcessInfo.ParseStat(line, out _), Is.Null);
    }
}
