using System.Runtime.InteropServices;
using Runcs.Linux;

namespace Runcs.Processes;

// ============================================================================================
//  THE RESTRICTED SEQUENCER — runs in a child created by a raw clone() of the multithreaded
//  .NET CLI process, where only the cloning thread exists. Rules for everything in this file:
//   * no allocation (no `new` of reference types, no boxing, no strings, no arrays, no LINQ,
//     no params, no lambdas/closures, no string interpolation);
//   * no exceptions (no throw, no checked arithmetic, no array indexing: pointers only);
//   * no static fields or static constructors (consts only), no generics over reference types;
//   * no logging, no System.Console, no managed locks, no P/Invoke except the directly linked
//     [SuppressGCTransition] syscall(2) via the TSys table;
//   * never return into the frame that called clone(): every path ends in exit_group.
//  Errors travel to the parent as one fixed-size record (stage, step index, errno) on the sync
//  socket; the parent turns it into a readable message. A unit test runs this over a fake
//  syscall table and asserts zero allocated bytes.
// ============================================================================================

/// <summary>A syscall table the sequencer calls through (a struct, so calls are not virtual).</summary>
public interface ISyscallTable
{
    /// <summary>Returns the result, or -errno on failure.</summary>
    long Call(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
}

/// <summary>The real table: libc's syscall(2), directly linked, no GC transition.</summary>
public struct KernelSyscalls : ISyscallTable
{
    public long Call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) => RawSyscalls.Invoke(nr, a0, a1, a2, a3, a4, a5);
}

public enum StepOp : int
{
    /// <summary>syscall(Nr, A0..A5); failure aborts unless <see cref="StepFlags.IgnoreError"/>.</summary>
    Syscall = 1,
    /// <summary>Read one byte from the sync socket; it must equal A0.</summary>
    WaitByte = 2,
    /// <summary>Send a record of kind A0 with the register as its value.</summary>
    Report = 3,
    /// <summary>clone(A0 flags): the child continues at step A1 as stage A2; the parent keeps the pid in the register.</summary>
    Clone = 4,
    /// <summary>Try execve/execveat for each candidate: A0 = char** paths (null-terminated) or 0, A1 = argv, A2 = envp, A3 = fd for execveat (when A0 is 0), A4 = pointer to an empty C string.</summary>
    Exec = 5,
    /// <summary>exit_group(A0).</summary>
    Exit = 6,
    /// <summary>Write A1 bytes at A2 to the file at path A0 (open, write, close).</summary>
    WriteFile = 7,
    /// <summary>getcwd into buffer A0 of A1 bytes; the cwd must be reachable from the root (not "(unreachable)...").</summary>
    CheckCwd = 8,
}

[Flags]
public enum StepFlags : int
{
    None = 0,
    /// <summary>Pass the register instead of A0.</summary>
    A0FromRegister = 1,
    /// <summary>Store the result in the register.</summary>
    StoreResult = 2,
    /// <summary>A failure of this step is not fatal.</summary>
    IgnoreError = 4,
}

/// <summary>One step of a launch plan: fixed-size, blittable, in unmanaged memory.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Step
{
    public StepOp Op;
    public StepFlags Flags;
    public long Nr;
    public long A0, A1, A2, A3, A4, A5;
}

/// <summary>Header of every message on the sync socket (sequencer records have no payload).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SyncHeader
{
    public int Kind;
    public int Stage;
    public int Step;
    public int Length;
    public long Value;
}

public static unsafe class Sequencer
{
    public const int O_WRONLY = 1, O_CLOEXEC = 0x80000, AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, ENOENT = 2, EPIPE = 32;

    /// <summary>
    /// Walks the plan from step <paramref name="start"/> as stage <paramref name="stage"/>.
    /// In a real child it never returns (exit_group); with a fake table it returns the exit code.
    /// </summary>
    public static int Run<TSys>(ref TSys sys, Step* steps, int count, int start, int stage, int syncFd) where TSys : struct, ISyscallTable
    {
        long reg = 0;
        int i = start;
        while (i < count)
        {
            Step* s = steps + i;
            switch (s->Op)
            {
                case StepOp.Syscall:
                {
                    long a0 = (s->Flags & StepFlags.A0FromRegister) != 0 ? reg : s->A0;
                    long r = sys.Call(s->Nr, a0, s->A1, s->A2, s->A3, s->A4, s->A5);
                    if (r < 0 && (s->Flags & StepFlags.IgnoreError) == 0) return Fail(ref sys, syncFd, stage, i, -r);
                    if ((s->Flags & StepFlags.StoreResult) != 0) reg = r;
                    break;
                }
                case StepOp.WaitByte:
                {
                    byte b = 0;
                    long r;
                    do { r = sys.Call(SysNr.read, syncFd, (long)&b, 1, 0, 0, 0); } while (r == -4);
                    if (r < 0) return Fail(ref sys, syncFd, stage, i, -r);
                    if (r != 1 || b != (byte)s->A0) return Fail(ref sys, syncFd, stage, i, EPIPE);
                    break;
                }
                case StepOp.Report:
                {
                    SyncHeader h;
                    h.Kind = (int)s->A0; h.Stage = stage; h.Step = i; h.Length = 0; h.Value = reg;
                    long r = sys.Call(SysNr.write, syncFd, (long)&h, sizeof(SyncHeader), 0, 0, 0);
                    if (r != sizeof(SyncHeader)) return Fail(ref sys, syncFd, stage, i, r < 0 ? -r : EPIPE);
                    break;
                }
                case StepOp.Clone:
                {
                    long r = sys.Call(SysNr.clone, s->A0, 0, 0, 0, 0, 0);
                    if (r < 0) return Fail(ref sys, syncFd, stage, i, -r);
                    if (r == 0)
                    {
                        i = (int)s->A1;
                        stage = (int)s->A2;
                        reg = 0;
                        continue;
                    }
                    reg = r;
                    break;
                }
                case StepOp.Exec:
                {
                    long err = ENOENT;
                    if (s->A0 == 0)
                    {
                        long r = sys.Call(SysNr.execveat, s->A3, s->A4, s->A1, s->A2, AT_EMPTY_PATH, 0);
                        err = -r;
                    }
                    else
                    {
                        for (byte** p = (byte**)s->A0; *p != null; p++)
                        {
                            long r = sys.Call(SysNr.execve, (long)*p, s->A1, s->A2, 0, 0, 0);
                            // Like execvp: keep trying on "not there"; stop on a real error.
                            err = -r;
                            if (err != ENOENT && err != 20 /* ENOTDIR */ && err != 13 /* EACCES */) break;
                        }
                    }
                    return Fail(ref sys, syncFd, stage, i, err);
                }
                case StepOp.Exit:
                    sys.Call(SysNr.exit_group, s->A0, 0, 0, 0, 0, 0);
                    return (int)s->A0;
                case StepOp.WriteFile:
                {
                    long fd = sys.Call(SysNr.openat, AT_FDCWD, s->A0, O_WRONLY | O_CLOEXEC, 0, 0, 0);
                    if (fd < 0) return Fail(ref sys, syncFd, stage, i, -fd);
                    long w = sys.Call(SysNr.write, fd, s->A2, s->A1, 0, 0, 0);
                    sys.Call(SysNr.close, fd, 0, 0, 0, 0, 0);
                    if (w < 0) return Fail(ref sys, syncFd, stage, i, -w);
                    break;
                }
                case StepOp.CheckCwd:
                {
                    // A cwd outside the process's root (e.g. a leaked host fd: CVE-2024-21626) reads
                    // back as "(unreachable)/...": refuse it.
                    long r = sys.Call(SysNr.getcwd, s->A0, s->A1, 0, 0, 0, 0);
                    if (r < 0) return Fail(ref sys, syncFd, stage, i, -r);
                    if (*(byte*)s->A0 != (byte)'/') return Fail(ref sys, syncFd, stage, i, ENOENT);
                    break;
                }
                default:
                    return Fail(ref sys, syncFd, stage, i, 22 /* EINVAL */);
            }
            i++;
        }
        sys.Call(SysNr.exit_group, 0, 0, 0, 0, 0, 0);
        return 0;
    }

    private static int Fail<TSys>(ref TSys sys, int syncFd, int stage, int step, long errno) where TSys : struct, ISyscallTable
    {
        SyncHeader h;
        h.Kind = SyncKind.SequencerError; h.Stage = stage; h.Step = step; h.Length = 0; h.Value = errno;
        sys.Call(SysNr.write, syncFd, (long)&h, sizeof(SyncHeader), 0, 0, 0);
        sys.Call(SysNr.exit_group, 1, 0, 0, 0, 0, 0);
        return 1;
    }
}

/// <summary>Kinds of messages on the sync socket.</summary>
public static class SyncKind
{
    public const int Pid = 1;
    public const int SequencerError = 2;
    public const int UsernsReady = 3;
    public const int InitLog = 10;
    public const int InitError = 11;
    public const int HookRequest = 12;
    public const int Ready = 13;
    public const int Instructions = 20;
    public const int HookDone = 21;
    public const int ExecPid = 22;
    /// <summary>Init's seccomp notify listener follows (one byte carrying the fd over SCM_RIGHTS).</summary>
    public const int SeccompListener = 14;
}
