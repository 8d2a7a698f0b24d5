using System.Runtime.InteropServices;

namespace Runcs.Linux;

/// <summary>
/// posix_spawn with an argv[0] of the caller's choosing (System.Diagnostics.Process always passes
/// the path), stdio on pipes, and a wait with a timeout. OCI hooks need the first: their args
/// have execv semantics, and Docker's libnetwork-setkey hook (/proc/PID/exe with argv[0]
/// "libnetwork-setkey") is dispatched on argv[0].
/// </summary>
internal static unsafe partial class Spawn
{
    public sealed class Child
    {
        public int Pid;
        public int StdinW = -1, StdoutR = -1, StderrR = -1;
    }

    /// <summary>Starts path with exactly argv and envp; the child's 0, 1, 2 are pipes to the returned fds.</summary>
    public static Child Start(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
    {
        int* inP = stackalloc int[2], outP = stackalloc int[2], errP = stackalloc int[2];
        if (pipe2(inP, Libc.O_CLOEXEC) != 0) throw new IOException($"pipe: {Libc.LastError()}");
        if (pipe2(outP, Libc.O_CLOEXEC) != 0) { CloseAll(inP[0], inP[1]); throw new IOException($"pipe: {Libc.LastError()}"); }
        if (pipe2(errP, Libc.O_CLOEXEC) != 0) { CloseAll(inP[0], inP[1], outP[0], outP[1]); throw new IOException($"pipe: {Libc.LastError()}"); }
        var fa = NativeMemory.AllocZeroed(128); // posix_spawn_file_actions_t is 80 bytes on glibc x86_64/aarch64
        byte* p = Utf8(path);
        byte** a = Array(argv), e = Array(envp);
        try
        {
            posix_spawn_file_actions_init(fa);
            posix_spawn_file_actions_adddup2(fa, inP[0], 0);
            posix_spawn_file_actions_adddup2(fa, outP[1], 1);
            posix_spawn_file_actions_adddup2(fa, errP[1], 2);
            int pid;
            int rc = posix_spawn(&pid, p, fa, null, a, e);
            posix_spawn_file_actions_destroy(fa);
            if (rc != 0)
            {
                CloseAll(inP[1], outP[0], errP[0]);
                throw new IOException(Libc.StrError(rc));
            }
            return new Child { Pid = pid, StdinW = inP[1], StdoutR = outP[0], StderrR = errP[0] };
        }
        finally
        {
            CloseAll(inP[0], outP[1], errP[1]);
            NativeMemory.Free(fa);
            NativeMemory.Free(p);
            Free(a); Free(e);
        }
    }

    /// <summary>
    /// Waits for the child; false (child still running) after timeoutMs (negative: no limit).
    /// On true, status is the raw wait status.
    /// </summary>
    public static bool Wait(int pid, int timeoutMs, out int status)
    {
        status = 0;
        if (timeoutMs >= 0)
        {
            int pidfd = (int)RawSyscalls.Invoke(SysNr.pidfd_open, pid, 0);
            if (pidfd >= 0)
            {
                try
                {
                    long pfd = (long)(uint)pidfd | (1L << 32); // struct pollfd { fd, events = POLLIN, revents = 0 }
                    int r;
                    do r = poll(&pfd, 1, timeoutMs); while (r < 0 && Marshal.GetLastPInvokeError() == 4);
                    if (r == 0) return false;
                }
                finally { Libc.close(pidfd); }
            }
        }
        int st, w;
        do w = waitpid(pid, &st, 0); while (w < 0 && Marshal.GetLastPInvokeError() == 4);
        status = st;
        return true;
    }

    private static void CloseAll(params int[] fds) { foreach (var fd in fds) if (fd >= 0) Libc.close(fd); }

    private static byte* Utf8(string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        var b = (byte*)NativeMemory.Alloc((nuint)n + 1);
        System.Text.Encoding.UTF8.GetBytes(s, new Span<byte>(b, n));
        b[n] = 0;
        return b;
    }

    private static byte** Array(IReadOnlyList<string> items)
    {
        var a = (byte**)NativeMemory.Alloc((nuint)(sizeof(nint) * (items.Count + 1)));
        for (int i = 0; i < items.Count; i++) a[i] = Utf8(items[i]);
        a[items.Count] = null;
        return a;
    }

    private static void Free(byte** a)
    {
        for (var q = a; *q != null; q++) NativeMemory.Free(*q);
        NativeMemory.Free(a);
    }

    [LibraryImport("libc", SetLastError = true)] private static partial int pipe2(int* fds, int flags);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_init(void* fa);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_destroy(void* fa);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_adddup2(void* fa, int fd, int newfd);
    [LibraryImport("libc")] private static partial int posix_spawn(int* pid, byte* path, void* fa, void* attr, byte** argv, byte** envp);
    [LibraryImport("libc", SetLastError = true)] private static partial int poll(long* fds, nuint n, int timeout);
    [LibraryImport("libc", SetLastError = true)] private static partial int waitpid(int pid, int* status, int options);
}
