using NUnit.Framework;
using Runcs.Linux;
using Runcs.Processes;

namespace Runcs.Tests.Processes;

/// <summary>
/// The restricted sequencer runs after clone() in a child of a multithreaded process: it must not
/// allocate. These tests run it over a fake syscall table and check both what it calls and that
/// it allocates zero bytes (DESIGN.md, process model rule 2).
/// </summary>
[TestFixture]
public unsafe class SequencerTests
{
    /// <summary>Records calls into a fixed buffer; answers like a kernel would.</summary>
    private struct FakeTable : ISyscallTable
    {
        public long* Log;        // nr, a0, a1 triples
        public int Count;
        public int Capacity;
        public long CloneResult;
        public long FailNr;      // the syscall number that fails with FailErrno
        public long FailErrno;
        public byte ByteToRead;

        public long Call(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
        {
            if (Count < Capacity) { Log[Count * 3] = nr; Log[Count * 3 + 1] = a0; Log[Count * 3 + 2] = a1; Count++; }
            if (nr == FailNr) return -FailErrno;
            if (nr == SysNr.read) { *(byte*)a1 = ByteToRead; return 1; }
            if (nr == SysNr.write) return a2;
            if (nr == SysNr.clone) return CloneResult;
            if (nr == SysNr.openat) return 42;
            return 0;
        }

        public long Nr(int i) => Log[i * 3];
        public long A0(int i) => Log[i * 3 + 1];
    }

    private static LaunchPlan Stage1Plan(out int cloneStep)
    {
        var plan = new LaunchPlan();
        plan.WaitByte((byte)'G', "wait for cgroup");
        plan.Syscall(SysNr.setns, "join net", 7, 0x40000000);
        plan.Syscall(SysNr.unshare, "new namespaces", 0x20000000 | 0x00020000);
        plan.WriteFile("/proc/self/timens_offsets", "monotonic 1 0\n"u8.ToArray(), "time offsets");
        cloneStep = plan.Clone(0x8000 | 17, 2, "start init");
        plan.Report(SyncKind.Pid, "report pid");
        plan.Exit(0, "exit");
        int s2 = plan.Syscall(SysNr.dup3, "pass socket", 9, 3, 0);
        plan.SetCloneTarget(cloneStep, s2);
        var argv = plan.CStringArray(["runcs", "init"]);
        var envp = plan.CStringArray(["_RUNCS_SYNC_FD=3"]);
        plan.ExecveAt(5, argv, envp, "exec init");
        return plan;
    }

    private static FakeTable NewTable(long* buf, int cap) => new() { Log = buf, Capacity = cap, ByteToRead = (byte)'G', CloneResult = 1234, FailNr = -1 };

    [Test]
    public void Stage1_IssuesStepsInOrder_AndReportsChildPid()
    {
        using var plan = Stage1Plan(out _);
        long* buf = stackalloc long[300];
        var t = NewTable(buf, 100);
        int code = Sequencer.Run(ref t, plan.Native, plan.Count, 0, 1, 9);
        Assert.That(code, Is.EqualTo(0));
        var nrs = Enumerable.Range(0, t.Count).Select(i => t.Nr(i)).ToArray();
        Assert.That(nrs, Is.EqualTo(new[] { SysNr.read, SysNr.setns, SysNr.unshare, SysNr.openat, SysNr.write, SysNr.close, SysNr.clone, SysNr.write, SysNr.exit_group }));
        Assert.That(t.A0(1), Is.EqualTo(7), "setns gets the namespace fd");
    }

    [Test]
    public void CloneChild_JumpsToStage2_AndExecs()
    {
        using var plan = Stage1Plan(out _);
        long* buf = stackalloc long[300];
        var t = NewTable(buf, 100);
        t.CloneResult = 0; // we are the child
        t.FailNr = SysNr.execveat; t.FailErrno = 2;
        int code = Sequencer.Run(ref t, plan.Native, plan.Count, 0, 1, 9);
        var nrs = Enumerable.Range(0, t.Count).Select(i => t.Nr(i)).ToList();
        Assert.That(nrs, Does.Contain(SysNr.dup3));
        Assert.That(nrs, Does.Contain(SysNr.execveat));
        Assert.That(nrs, Does.Not.Contain(SysNr.exit).And.Not.Contain(SysNr.kill));
        Assert.That(code, Is.EqualTo(1), "a failed exec reports and exits 1");
    }

    [Test]
    public void Failure_SendsStepAndErrno_ThenExits()
    {
        using var plan = Stage1Plan(out _);
        long* buf = stackalloc long[300];
        var t = NewTable(buf, 100);
        t.FailNr = SysNr.setns; t.FailErrno = 1;
        int code = Sequencer.Run(ref t, plan.Native, plan.Count, 0, 1, 9);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(t.Nr(t.Count - 2), Is.EqualTo(SysNr.write), "the error record is written");
        Assert.That(t.Nr(t.Count - 1), Is.EqualTo(SysNr.exit_group));
        Assert.That(plan.Describe(1), Is.EqualTo("join net"));
    }

    [Test]
    public void WrongWakeupByte_IsAnError()
    {
        using var plan = Stage1Plan(out _);
        long* buf = stackalloc long[300];
        var t = NewTable(buf, 100);
        t.ByteToRead = (byte)'X';
        Assert.That(Sequencer.Run(ref t, plan.Native, plan.Count, 0, 1, 9), Is.EqualTo(1));
        Assert.That(t.Count, Is.EqualTo(3), "read, error write, exit");
    }

    [Test]
    public void Sequencer_AllocatesNothing()
    {
        using var plan = Stage1Plan(out _);
        long* buf = stackalloc long[3000];
        var native = plan.Native;
        int count = plan.Count;
        // Warm up: JIT compilation allocates; the measured runs must not.
        for (int i = 0; i < 3; i++)
        {
            var w = NewTable(buf, 1000);
            Sequencer.Run(ref w, native, count, 0, 1, 9);
            w = NewTable(buf, 1000); w.CloneResult = 0;
            Sequencer.Run(ref w, native, count, 0, 1, 9);
            w = NewTable(buf, 1000); w.FailNr = SysNr.unshare; w.FailErrno = 1;
            Sequencer.Run(ref w, native, count, 0, 1, 9);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            var t = NewTable(buf, 1000);
            Sequencer.Run(ref t, native, count, 0, 1, 9);
            t = NewTable(buf, 1000); t.CloneResult = 0;
            Sequencer.Run(ref t, native, count, 0, 1, 9);
            t = NewTable(buf, 1000); t.FailNr = SysNr.unshare; t.FailErrno = 1;
            Sequencer.Run(ref t, native, count, 0, 1, 9);
        }
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(after - before, Is.EqualTo(0), "the restricted sequencer allocated managed memory");
    }
}
