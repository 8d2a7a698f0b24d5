using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Runcs.Linux;

namespace Runcs.Terminal;

/// <summary>
/// Attaches the caller's terminal to a container's pty master (run/exec -t without
/// --console-socket, as runc does): the caller's tty goes raw, bytes are copied both ways,
/// SIGWINCH resizes the pty, and the tty settings are restored on dispose.
/// </summary>
public sealed unsafe partial class ConsoleProxy : IDisposable
{
    private readonly int _master;
    private byte[]? _savedTermios;
    private PosixSignalRegistration? _winch;
    private readonly Thread _out;
    private readonly Thread _in;

    [LibraryImport("libc")]
    private static partial int isatty(int fd);

    public ConsoleProxy(int master)
    {
        _master = master;
        if (isatty(0) == 1)
        {
            _savedTermios = new byte[60];
            fixed (byte* t = _savedTermios)
            {
                if (Pty.ioctl(0, Pty.TCGETS, (nint)t) == 0)
                {
                    var raw = (byte[])_savedTermios.Clone();
                    fixed (byte* r = raw)
                    {
                        // cfmakeraw: c_iflag, c_oflag, c_cflag, c_lflag are the first four uints.
                        uint* f = (uint*)r;
                        f[0] &= ~(0x1u | 0x2u | 0x8u | 0x20u | 0x40u | 0x80u | 0x100u | 0x400u); // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
                        f[1] &= ~0x1u;                                                            // OPOST
                        f[3] &= ~(0x8u | 0x40u | 0x2u | 0x8000u | 0x1u);                          // ECHO ECHONL ICANON IEXTEN ISIG
                        f[2] = (f[2] & ~(0x30u | 0x100u)) | 0x30u;                               // CSIZE -> CS8, PARENB off
                        r[17 + 6] = 1; r[17 + 5] = 0;                                             // VMIN=1, VTIME=0 (c_cc at offset 17)
                        Pty.ioctl(0, Pty.TCSETS, (nint)r);
                    }
                }
                else _savedTermios = null;
            }
            Resize();
            _winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, ctx => { ctx.Cancel = true; Resize(); });
        }
        _out = new Thread(() => Copy(_master, 1)) { IsBackground = true, Name = "pty-out" };
        _in = new Thread(() => Copy(0, _master)) { IsBackground = true, Name = "pty-in" };
        _out.Start();
        _in.Start();
    }

    private void Resize()
    {
        // A caller's tty of size 0x0 (e.g. under `script`) says nothing: keep the container's size.
        if (Pty.TryGetSize(0, out var ws) && (ws.Rows != 0 || ws.Cols != 0)) Pty.SetSize(_master, ws.Rows, ws.Cols);
    }

    private static void Copy(int from, int to)
    {
        var buf = new byte[8192];
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint n = Libc.read(from, b, buf.Length);
                if (n < 0 && Libc.Errno == 4) continue;
                if (n <= 0) return; // EOF, or EIO once every slave is closed
                nint off = 0;
                while (off < n)
                {
                    nint w = Libc.write(to, b + off, n - off);
                    if (w < 0) { if (Libc.Errno == 4) continue; return; }
                    off += w;
                }
            }
        }
    }

    /// <summary>Waits (briefly) for the container's output to drain, then restores the caller's tty.</summary>
    public void Dispose()
    {
        _out.Join(2000);
        _winch?.Dispose();
        if (_savedTermios is { } t)
            fixed (byte* p = t) Pty.ioctl(0, Pty.TCSETS, (nint)p);
        Libc.close(_master);
    }
}
