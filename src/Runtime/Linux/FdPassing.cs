using System.Runtime.InteropServices;

namespace Runcs.Linux;

/// <summary>Sending and receiving one file descriptor over a unix socket (SCM_RIGHTS).</summary>
public static unsafe partial class FdPassing
{
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec { public void* Base; public nint Len; }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name; public int NameLen; public int Pad0;
        public IoVec* Iov; public nint IovLen;
        public void* Control; public nint ControlLen;
        public int Flags; public int Pad1;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    /// <summary>Sends <paramref name="fd"/> with <paramref name="data"/> (at least one byte) as the message.</summary>
    public static void Send(int socket, int fd, ReadOnlySpan<byte> data)
    {
        byte one = 0;
        fixed (byte* d = data)
        {
            var iov = new IoVec { Base = data.Length > 0 ? d : &one, Len = Math.Max(1, data.Length) };
            byte* control = stackalloc byte[24];
            new Span<byte>(control, 24).Clear();
            *(ulong*)control = 20;                 // cmsg_len = CMSG_LEN(sizeof(int))
            *(int*)(control + 8) = SOL_SOCKET;
            *(int*)(control + 12) = SCM_RIGHTS;
            *(int*)(control + 16) = fd;
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
            while (true)
            {
                if (sendmsg(socket, &msg, 0x4000 /* MSG_NOSIGNAL */) >= 0) return;
                if (Marshal.GetLastPInvokeError() == 4) continue;
                throw new RuncsException($"sending a file descriptor: {Libc.LastError()}");
            }
        }
    }

    /// <summary>Receives one fd (close-on-exec) and the message bytes; -1 if none came.</summary>
    public static int Receive(int socket, out byte[] data, int maxBytes = 4096)
    {
        byte* buf = stackalloc byte[4096];
        var iov = new IoVec { Base = buf, Len = Math.Clamp(maxBytes, 1, 4096) };
        byte* control = stackalloc byte[64];
        new Span<byte>(control, 64).Clear();
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
        nint n;
        while ((n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0)
            if (Marshal.GetLastPInvokeError() != 4) throw new RuncsException($"receiving a file descriptor: {Libc.LastError()}");
        data = new Span<byte>(buf, (int)n).ToArray();
        if (msg.ControlLen >= 20 && *(int*)(control + 8) == SOL_SOCKET && *(int*)(control + 12) == SCM_RIGHTS)
            return *(int*)(control + 16);
        return -1;
    }
}
