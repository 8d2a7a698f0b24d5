using System.Runtime.InteropServices;
using System.Text;
using Runcs.Linux;

namespace Runcs.Cgroups;

/// <summary>A cgroup file operation failed; carries the errno so callers can react to EBUSY/EINVAL.</summary>
public sealed class CgroupIoException : RuncsException
{
    public int Errno { get; }
    public string Path { get; }
    public CgroupIoException(string op, string path, int errno)
        : base($"{op} {path}: {Marshal.GetPInvokeErrorMessage(errno)}")
    {
        Errno = errno;
        Path = path;
    }
}

/// <summary>
/// Every file system access the managers make goes through here, so unit tests can point the
/// managers at a temporary tree and record writes (order matters: memory limits, device rules).
/// Writes are one open(O_WRONLY|O_TRUNC) + one write(2) without O_CREAT, as the kernel expects for
/// cgroup control files (a missing file is ENOENT, not a new regular file).
/// </summary>
internal class CgroupFs
{
    public static readonly CgroupFs Real = new();

    public const int ENOENT = 2, ESRCH = 3, EINTR = 4, EAGAIN = 11, EACCES = 13, EBUSY = 16, EEXIST = 17,
        ENODEV = 19, ENOTDIR = 20, EINVAL = 22, ENOSPC = 28, ENOTEMPTY = 39, EOPNOTSUPP = 95, ENOTSUP = 524;

    public virtual void Write(string path, string value)
    {
        int fd = Native.Open(path, Native.O_WRONLY | Native.O_TRUNC | Native.O_CLOEXEC, 0);
        if (fd < 0) throw new CgroupIoException("open", path, Marshal.GetLastPInvokeError());
        try
        {
            byte[] data = Encoding.UTF8.GetBytes(value);
            while (true)
            {
                nint n = Native.Write(fd, data, data.Length);
                if (n >= 0) break;
                int e = Marshal.GetLastPInvokeError();
                if (e == EINTR) continue;
                throw new CgroupIoException($"writing {Quote(value)} to", path, e);
            }
        }
        finally { Native.Close(fd); }
    }

    /// <summary>Reads a whole control file; null if it does not exist.</summary>
    public virtual string? TryRead(string path)
    {
        return SmallFile.TryReadText(path);
    }

    public string Read(string path) => TryRead(path) ?? throw new CgroupIoException("reading", path, ENOENT);

    public virtual bool FileExists(string path) => File.Exists(path);
    public virtual bool DirExists(string path) => Directory.Exists(path);

    /// <summary>mkdir(2) with mode 0755; true if it made the directory, false if it already existed.</summary>
    public virtual bool MakeDir(string path)
    {
        if (Native.Mkdir(path, 0x1ed) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e == EEXIST && Directory.Exists(path)) return false;
        throw new CgroupIoException("creating cgroup", path, e);
    }

    /// <summary>rmdir(2); throws with errno (EBUSY while processes remain).</summary>
    public virtual void RemoveDir(string path)
    {
        if (Native.Rmdir(path) == 0) return;
        int e = Marshal.GetLastPInvokeError();
        if (e == ENOENT) return;
        throw new CgroupIoException("removing cgroup", path, e);
    }

    public virtual IEnumerable<string> SubDirs(string path)
    {
        try { return Directory.GetDirectories(path); }
        catch (DirectoryNotFoundException) { return []; }
    }

    /// <summary>Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup directory
    /// (BPF_F_ALLOW_MULTI), then detaches the device programs that were attached before, so an update
    /// replaces the rules without a moment with none.</summary>
    public virtual void AttachDeviceProgram(string dir, BpfInsn[] prog)
    {
        int cg = Native.Open(dir, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_CLOEXEC, 0);
        if (cg < 0) throw new CgroupIoException("opening cgroup", dir, Marshal.GetLastPInvokeError());
        try
        {
            uint[] old = Bpf.QueryCgroupDevicePrograms(cg);
            int progFd = Bpf.LoadCgroupDeviceProgram(prog);
            try
            {
                Bpf.AttachCgroupDevice(cg, progFd, Bpf.BPF_F_ALLOW_MULTI);
                foreach (var id in old)
                {
                    int ofd = Bpf.GetProgFdById(id);
                    if (ofd < 0) continue;
                    try { Bpf.DetachCgroupDevice(cg, ofd); }
                    finally { Native.Close(ofd); }
                }
            }
            finally { Native.Close(progFd); }
        }
        finally { Native.Close(cg); }
    }

    internal static string Quote(string v) => "\"" + v.Replace("\n", "\\n") + "\"";
}

internal static unsafe partial class Native
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_TRUNC = 0x200, O_NONBLOCK = 0x800,
        O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    public const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    public const int IN_MODIFY = 0x2, IN_CLOEXEC = 0x80000, IN_NONBLOCK = 0x800;
    public const short POLLIN = 1;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte[] buf, nint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buf, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, int mode);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rmdir(string path);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    public static partial int InotifyInit1(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int InotifyAddWatch(int fd, string path, uint mask);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);
}
