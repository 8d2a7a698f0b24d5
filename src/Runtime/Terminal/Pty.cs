using System.Net.Sockets;
using System.Runtime.InteropServices;
using Runcs.Linux;

namespace Runcs.Terminal;

/// <summary>Pseudo-terminals: allocation from a devpts instance, window size, controlling tty, raw mode.</summary>
public static unsafe partial class Pty
{
    public const uint TIOCSPTLCK = 0x40045431, TIOCGPTN = 0x80045430, TIOCGPTPEER = 0x5441, TIOCSCTTY = 0x540E,
        TIOCSWINSZ = 0x5414, TIOCGWINSZ = 0x5413, TCGETS = 0x5401, TCSETS = 0x5402;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, nint arg);

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize { public ushort Rows, Cols, XPixel, YPixel; }

    /// <summary>
    /// Opens a new pty from the multiplexer at <paramref name="ptmxFd"/>'s devpts (already opened
    /// O_RDWR|O_NOCTTY), unlocks it and opens its peer. Returns (master, slave, pts number).
    /// </summary>
    public static (int Master, int Slave, int Number) OpenPair(int master)
    {
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, (nint)(&unlock)) != 0) throw new RuncsException($"unlocking the pty: {Libc.LastError()}");
        int n = 0;
        if (ioctl(master, TIOCGPTN, (nint)(&n)) != 0) throw new RuncsException($"getting the pty number: {Libc.LastError()}");
        int slave = ioctl(master, TIOCGPTPEER, Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_CLOEXEC);
        if (slave < 0) throw new RuncsException($"opening the pty's peer: {Libc.LastError()}");
        return (master, slave, n);
    }

    public static void SetSize(int fd, ulong rows, ulong cols)
    {
        var ws = new WinSize { Rows = (ushort)Math.Min(rows, ushort.MaxValue), Cols = (ushort)Math.Min(cols, ushort.MaxValue) };
        if (ioctl(fd, TIOCSWINSZ, (nint)(&ws)) != 0) throw new RuncsException($"setting the console size: {Libc.LastError()}");
    }

    public static bool TryGetSize(int fd, out WinSize ws)
    {
        WinSize w;
        bool ok = ioctl(fd, TIOCGWINSZ, (nint)(&w)) == 0;
        ws = w;
        return ok;
    }

    /// <summary>Connects to a console socket (AF_UNIX stream) and returns a dup of the connected fd.</summary>
    public static int ConnectConsoleSocket(string path)
    {
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(path));
            int fd = Libc.fcntl((int)s.Handle, 1030 /* F_DUPFD_CLOEXEC */, 3);
            if (fd < 0) throw new RuncsException($"connecting to console socket {path}: {Libc.LastError()}");
            return fd;
        }
        catch (SocketException e)
        {
            throw new RuncsException($"connecting to console socket {path}: {e.Message}");
        }
    }
}
