using System.Runtime.InteropServices;
using System.Text;
using Runcs.Linux;

namespace Runcs.Processes;

/// <summary>
/// The managed side of the sync socket (a stream socketpair): messages are a
/// <see cref="SyncHeader"/> followed by <c>Length</c> payload bytes. The restricted stages send
/// bare headers; the parent and <c>runcs init</c> also exchange payloads (instructions, logs,
/// errors, hook requests).
/// </summary>
public sealed unsafe class SyncChannel : IDisposable
{
    public int Fd { get; private set; }

    public SyncChannel(int fd) => Fd = fd;

    public void Send(int kind, ReadOnlySpan<byte> payload = default, long value = 0)
    {
        SyncHeader h = new() { Kind = kind, Length = payload.Length, Value = value };
        WriteAll(new ReadOnlySpan<byte>(&h, sizeof(SyncHeader)));
        if (payload.Length > 0) WriteAll(payload);
    }

    /// <summary>One bare byte: what the restricted stages wait for (WaitByte steps).</summary>
    public void SendRawByte(byte b) => WriteAll(new ReadOnlySpan<byte>(&b, 1));

    public void SendText(int kind, string text) => Send(kind, Encoding.UTF8.GetBytes(text));

    /// <summary>Reads one message; null on EOF (the peer closed or died).</summary>
    public (SyncHeader Header, byte[] Payload)? Receive()
    {
        SyncHeader h;
        if (!ReadAll(new Span<byte>(&h, sizeof(SyncHeader)))) return null;
        if (h.Length < 0 || h.Length > 256 << 20) throw new RuncsException($"sync protocol error: message of {h.Length} bytes");
        var payload = h.Length == 0 ? Array.Empty<byte>() : new byte[h.Length];
        if (h.Length > 0 && !ReadAll(payload)) return null;
        return (h, payload);
    }

    private void WriteAll(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = Libc.write(Fd, p + off, data.Length - off);
                if (n < 0)
                {
                    int e = Libc.Errno;
                    if (e == 4) continue;
                    throw new RuncsException($"writing to sync socket: {Libc.StrError(e)}");
                }
                off += (int)n;
            }
        }
    }

    private bool ReadAll(Span<byte> buf)
    {
        fixed (byte* p = buf)
        {
            int off = 0;
            while (off < buf.Length)
            {
                nint n = Libc.read(Fd, p + off, buf.Length - off);
                if (n < 0)
                {
                    int e = Libc.Errno;
                    if (e == 4) continue;
                    if (e == 104) return false; // ECONNRESET: peer died
                    throw new RuncsException($"reading sync socket: {Libc.StrError(e)}");
                }
                if (n == 0)
                {
                    if (off == 0) return false;
                    throw new RuncsException("sync socket closed in the middle of a message");
                }
                off += (int)n;
            }
        }
        return true;
    }

    public void Dispose()
    {
        if (Fd >= 0) { Libc.close(Fd); Fd = -1; }
    }
}
