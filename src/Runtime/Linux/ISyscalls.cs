namespace Runcs.Linux;

/// <summary>
/// The filesystem syscalls the container init uses to build the root filesystem. Methods return
/// 0 / an fd on success and -errno on failure (callers add the context to errors). The Linux
/// implementation calls the kernel; <see cref="RecordingSyscalls"/> records calls for unit tests.
/// </summary>
public interface ISyscalls
{
    int Mount(string? source, string target, string? fstype, ulong flags, string? data);
    int Umount(string target, int flags);
    int OpenAt2(int dirfd, string path, ulong flags, ulong resolve, ulong mode = 0);
    int MkdirAt(int dirfd, string name, int mode);
    int MknodAt(int dirfd, string name, int mode, ulong dev);
    int SymlinkAt(string target, int dirfd, string name);
    int FchownAt(int dirfd, string name, uint uid, uint gid, int flags);
    int MountSetAttr(int dirfd, string path, int flags, Mounts.MountAttr attr);
    int UnlinkAt(int dirfd, string name, int flags);
    int Close(int fd);
    /// <summary>File type bits (S_IFMT) of an open fd, or -errno.</summary>
    long FileType(int fd);
}

public sealed class LinuxSyscalls : ISyscalls
{
    public static readonly LinuxSyscalls Instance = new();

    private static int R(int r) => r < 0 ? -Libc.Errno : r;

    public int Mount(string? source, string target, string? fstype, ulong flags, string? data) => R(Mounts.mount(source, target, fstype, flags, data));
    public int Umount(string target, int flags) => R(Mounts.umount2(target, flags));
    public int OpenAt2(int dirfd, string path, ulong flags, ulong resolve, ulong mode = 0) => Mounts.OpenAt2(dirfd, path, flags, resolve, mode);
    public int MkdirAt(int dirfd, string name, int mode) => R(Mounts.mkdirat(dirfd, name, mode));
    public int MknodAt(int dirfd, string name, int mode, ulong dev) => R(Mounts.mknodat(dirfd, name, mode, dev));
    public int SymlinkAt(string target, int dirfd, string name) => R(Mounts.symlinkat(target, dirfd, name));
    public int FchownAt(int dirfd, string name, uint uid, uint gid, int flags) => R(Mounts.fchownat(dirfd, name, uid, gid, flags));
    public int MountSetAttr(int dirfd, string path, int flags, Mounts.MountAttr attr) => Mounts.SetAttr(dirfd, path, flags, attr);
    public int UnlinkAt(int dirfd, string name, int flags) => R(Mounts.unlinkat(dirfd, name, flags));
    public int Close(int fd) => R(Libc.close(fd));

    public unsafe long FileType(int fd)
    {
        Mounts.Stat st;
        return Mounts.fstat(fd, &st) != 0 ? -Libc.Errno : st.Mode & Mounts.S_IFMT;
    }
}

/// <summary>A fake that records every call as a line of text and succeeds (or fails as told).</summary>
public sealed class RecordingSyscalls : ISyscalls
{
    public List<string> Calls { get; } = new();
    /// <summary>Paths that OpenAt2 reports as missing (ENOENT) until created with MkdirAt/MknodAt.</summary>
    public HashSet<string> Missing { get; } = new();
    /// <summary>Calls (by prefix) that fail with the given errno.</summary>
    public Dictionary<string, int> Failures { get; } = new();
    public Dictionary<int, string> FdPaths { get; } = new();
    public Dictionary<string, long> Types { get; } = new();
    private int _nextFd = 100;

    private int Rec(string line)
    {
        Calls.Add(line);
        foreach (var (prefix, errno) in Failures) if (line.StartsWith(prefix, StringComparison.Ordinal)) return -errno;
        return 0;
    }

    private string PathOf(int dirfd, string name) =>
        dirfd == Libc.AT_FDCWD ? name : FdPaths.TryGetValue(dirfd, out var d) ? (d.TrimEnd('/') + "/" + name.TrimStart('/')) : $"<fd{dirfd}>/{name}";

    public int Mount(string? source, string target, string? fstype, ulong flags, string? data) =>
        Rec($"mount {source ?? "-"} {Resolve(target)} {fstype ?? "-"} 0x{flags:x} {data ?? "-"}");
    public int Umount(string target, int flags) => Rec($"umount {Resolve(target)} {flags}");
    public int OpenAt2(int dirfd, string path, ulong flags, ulong resolve, ulong mode = 0)
    {
        var full = PathOf(dirfd, path);
        int r = Rec($"openat2 {full}");
        if (r < 0) return r;
        if (Missing.Contains(full)) return -2;
        int fd = _nextFd++;
        FdPaths[fd] = full;
        return fd;
    }
    public int MkdirAt(int dirfd, string name, int mode) { var p = PathOf(dirfd, name); Missing.Remove(p); Types[p] = Mounts.S_IFDIR; return Rec($"mkdir {p} {Convert.ToString(mode, 8)}"); }
    public int MknodAt(int dirfd, string name, int mode, ulong dev) { var p = PathOf(dirfd, name); Missing.Remove(p); Types[p] = (uint)mode & Mounts.S_IFMT; return Rec($"mknod {p} {Convert.ToString(mode, 8)} {dev}"); }
    public int SymlinkAt(string target, int dirfd, string name) => Rec($"symlink {target} {PathOf(dirfd, name)}");
    public int FchownAt(int dirfd, string name, uint uid, uint gid, int flags) => Rec($"chown {PathOf(dirfd, name)} {uid}:{gid}");
    public int MountSetAttr(int dirfd, string path, int flags, Mounts.MountAttr attr) => Rec($"mount_setattr {PathOf(dirfd, path)} set=0x{attr.AttrSet:x} clr=0x{attr.AttrClr:x} prop=0x{attr.Propagation:x}");
    public int UnlinkAt(int dirfd, string name, int flags) => Rec($"unlink {PathOf(dirfd, name)}");
    public int Close(int fd) { FdPaths.Remove(fd); return 0; }
    public long FileType(int fd) => FdPaths.TryGetValue(fd, out var p) && Types.TryGetValue(p, out var t) ? t : Mounts.S_IFDIR;

    /// <summary>Turns "/proc/self/fd/N" back into the path the fake opened as N.</summary>
    private string Resolve(string target)
    {
        const string prefix = "/proc/self/fd/";
        if (target.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(target[prefix.Length..], out var fd) && FdPaths.TryGetValue(fd, out var p)) return p;
        return target;
    }
}
