using System.Runtime.InteropServices;

namespace Runcs.Linux;

/// <summary>
/// Syscall numbers for the running architecture: the one seam where arch tables live.
/// x86_64 only for now; aarch64 adds a sibling table selected the same way.
/// </summary>
public static class SysNr
{
    public const long read = 0, write = 1, close = 3, rt_sigaction = 13, rt_sigprocmask = 14, ioctl = 16,
        getpid = 39, clone = 56, execve = 59, exit = 60, wait4 = 61, kill = 62, fcntl = 72, chdir = 80, fchdir = 81,
        umask = 95, getcwd = 79, setsid = 112, setgroups = 116, setresuid = 117, setresgid = 119, capset = 126, personality = 135,
        fstatfs = 138, pivot_root = 155, prctl = 157, chroot = 161, mount = 165, umount2 = 166, sethostname = 170,
        setdomainname = 171, gettid = 186, sched_setaffinity = 203, exit_group = 231, ioprio_set = 251, openat = 257,
        mkdirat = 258, mknodat = 259, unshare = 272, dup3 = 292, prlimit64 = 302, setns = 308, sched_setattr = 314,
        seccomp = 317, memfd_create = 319, execveat = 322, pidfd_send_signal = 424, open_tree = 428, move_mount = 429,
        pidfd_open = 434, close_range = 436, openat2 = 437, mount_setattr = 442;
}

/// <summary>
/// libc's syscall(2) and errno, imported with <c>[SuppressGCTransition]</c> and linked directly
/// (DirectPInvoke in the csproj), so calling them needs no lazy binding, no GC mode switch and no
/// allocation: the only interop the restricted sequencer may use after clone().
/// </summary>
public static unsafe partial class RawSyscalls
{
    [LibraryImport("libc", EntryPoint = "syscall")]
    [SuppressGCTransition]
    private static partial long syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport("libc", EntryPoint = "__errno_location")]
    [SuppressGCTransition]
    private static partial int* errno_location();

    /// <summary>Issues a syscall; returns its result, or -errno on failure (kernel convention).</summary>
    public static long Invoke(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        long r = syscall6(nr, a1, a2, a3, a4, a5, a6);
        return r == -1 ? -*errno_location() : r;
    }

    /// <summary>Binds the imports once in the caller (a no-op for directly linked builds).</summary>
    public static void Warmup()
    {
        Invoke(SysNr.getpid);
        _ = errno_location();
    }
}
