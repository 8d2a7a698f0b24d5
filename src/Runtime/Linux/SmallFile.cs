using System.Text;

namespace Runcs.Linux;

/// <summary>
/// Reads small kernel files (procfs, cgroupfs) with open/read/close into a stack buffer. Every
/// command reads several (init's start time, freezer state, cgroup.procs, limits); File.ReadAllText
/// builds a FileStream, a StreamReader and a decoder for each, which showed in profiles of
/// `run` at several percent of the CLI's time.
/// </summary>
public static unsafe class SmallFile
{
    /// <summary>The file's text, or null when it does not exist (ENOENT, ENOTDIR). Other errors throw
    /// like File.ReadAllText: <see cref="UnauthorizedAccessException"/> for EACCES/EPERM/EISDIR, else <see cref="IOException"/>.</summary>
    public static string? TryReadText(string path)
    {
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int e = Libc.Errno;
            if (e is 2 or 20) return null;
            throw Error(path, e);
        }
        try
        {
            Span<byte> buf = stackalloc byte[4096];
            int len = 0;
            while (true)
            {
                if (len == buf.Length)
                {
                    var bigger = new byte[buf.Length * 2];
                    buf.CopyTo(bigger);
                    buf = bigger;
                }
                nint n;
                fixed (byte* p = buf) n = Libc.read(fd, p + len, buf.Length - len);
                if (n < 0)
                {
                    int e = Libc.Errno;
                    if (e == 4) continue;
                    throw Error(path, e);
                }
                if (n == 0) break;
                len += (int)n;
            }
            return Encoding.UTF8.GetString(buf[..len]);
        }
        finally { Libc.close(fd); }
    }

    /// <summary>Like <see cref="TryReadText"/>, but a missing file is a <see cref="FileNotFoundException"/>.</summary>
    public static string ReadText(string path) => TryReadText(path) ?? throw new FileNotFoundException($"{path}: {Libc.StrError(2)}", path);

    private static Exception Error(string path, int errno) =>
        errno is 1 or 13 or 21 ? new UnauthorizedAccessException($"{path}: {Libc.StrError(errno)}") : new IOException($"{path}: {Libc.StrError(errno)}");
}
