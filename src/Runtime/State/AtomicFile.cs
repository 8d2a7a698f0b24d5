using System.Text;
using Runcs.Linux;

namespace Runcs.State;

/// <summary>
/// Replaces a file so that readers see the old or the new content, never a part: the bytes go to
/// a temporary file next to it, which rename(2) then puts in place. Raw open/write/rename: this runs
/// up to four times per container, and FileStream's setup (share-mode lock, buffering, strategy
/// objects) cost more than the write.
/// </summary>
public static unsafe class AtomicFile
{
    /// <summary>Writes <paramref name="data"/> to <paramref name="path"/>; throws <see cref="IOException"/> with the errno text.</summary>
    public static void Write(string path, ReadOnlySpan<byte> data, string tmpSuffix = ".tmp", int mode = 0x1A4 /* 0644 */)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full) ?? "/", "." + Path.GetFileName(full) + tmpSuffix);
        int fd = Libc.open(tmp, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, mode);
        if (fd < 0) throw new IOException($"creating {tmp}: {Libc.LastError()}");
        try
        {
            fixed (byte* p = data)
            {
                nint done = 0;
                while (done < data.Length)
                {
                    nint n = Libc.write(fd, p + done, data.Length - done);
                    if (n < 0)
                    {
                        if (Libc.Errno == 4) continue;
                        throw new IOException($"writing {tmp}: {Libc.LastError()}");
                    }
                    done += n;
                }
            }
        }
        catch
        {
            Libc.close(fd);
            Libc.unlink(tmp);
            throw;
        }
        Libc.close(fd);
        if (Libc.rename(tmp, full) != 0)
        {
            var err = Libc.LastError();
            Libc.unlink(tmp);
            throw new IOException($"renaming {tmp} to {full}: {err}");
        }
    }

    public static void Write(string path, string text, string tmpSuffix = ".tmp") => Write(path, Encoding.UTF8.GetBytes(text), tmpSuffix);
}
