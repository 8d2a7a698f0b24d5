using Runcs.Linux;
using Runcs.Spec;
using static Runcs.Linux.Mounts;

namespace Runcs.Init;

/// <summary>
/// Builds the container's root filesystem inside the new mount namespace: propagation, the
/// rootfs bind, every configured mount (destinations resolved inside the rootfs with
/// openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd, so a symlink in the image can
/// never send a mount to the host), /dev, pivot_root, masked and read-only paths.
/// Every failure is a <see cref="RuncsException"/> naming the step.
/// </summary>
public sealed class Rootfs
{
    private const ulong O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000, O_NOFOLLOW = 0x20000;
    private const ulong InRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

    private readonly ISyscalls _sys;
    private readonly InitInstructions _ins;
    private readonly Config _c;
    private readonly string _rootfs;
    private readonly bool _userns;

    public Rootfs(ISyscalls sys, InitInstructions ins)
    {
        _sys = sys;
        _ins = ins;
        _c = ins.Config;
        _rootfs = ins.Rootfs;
        _userns = (ins.Config.Linux?.Namespaces ?? []).Any(n => n.Type == "user");
    }

    private static string Err(int negErrno) => Libc.StrError(-negErrno);

    private void Check(int r, string what)
    {
        if (r < 0) throw new RuncsException($"{what}: {Err(r)}");
    }

    public static ulong PropagationFlags(string? p) => p switch
    {
        "shared" or "rshared" => MS_SHARED | MS_REC,
        "slave" or "rslave" => MS_SLAVE | MS_REC,
        "private" or "rprivate" => MS_PRIVATE | MS_REC,
        "unbindable" or "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => MS_SLAVE | MS_REC,
    };

    /// <summary>Propagation of "/", then the rootfs bind-mounted onto itself (pivot_root needs a mount).</summary>
    public void Prepare()
    {
        var prop = _c.Linux?.RootfsPropagation;
        Check(_sys.Mount(null, "/", null, PropagationFlags(prop), null), "setting the propagation of / in the container's mount namespace");
        if (prop is "shared" or "rshared") MakeParentPrivate();
        Check(_sys.Mount(_rootfs, _rootfs, "bind", MS_BIND | MS_REC, null), $"bind-mounting the rootfs {_rootfs} onto itself");
    }

    /// <summary>pivot_root refuses a shared parent mount: make the mount holding the rootfs private.</summary>
    private void MakeParentPrivate()
    {
        string best = "/";
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                var f = line.Split(' ');
                if (f.Length < 5) continue;
                var mp = f[4].Replace("\\040", " ");
                if ((_rootfs == mp || _rootfs.StartsWith(mp.TrimEnd('/') + "/", StringComparison.Ordinal)) && mp.Length > best.Length) best = mp;
            }
        }
        catch (IOException) { }
        Check(_sys.Mount(null, best, null, MS_PRIVATE, null), $"making {best} private");
    }

    public static string FdPath(int fd) => "/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Rel(string containerPath) => containerPath.TrimStart('/') is { Length: > 0 } r ? r : ".";

    /// <summary>
    /// Opens (O_PATH) a path inside the rootfs, creating missing components as directories (and
    /// the last one as an empty file when <paramref name="file"/>), every lookup confined to the
    /// rootfs. Returns the fd.
    /// </summary>
    public int EnsureInRoot(int rootFd, string containerPath, bool file, string what)
    {
        var parts = containerPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i] == "..") throw new RuncsException($"{what}: path {containerPath} contains \"..\"");
            var prefix = string.Join('/', parts, 0, i + 1);
            int fd = _sys.OpenAt2(rootFd, prefix, O_PATH | O_CLOEXEC, InRoot);
            if (fd >= 0) { _sys.Close(fd); continue; }
            if (fd != -2) throw new RuncsException($"{what}: resolving {prefix} in the rootfs: {Err(fd)}");
            var parentPath = i == 0 ? "." : string.Join('/', parts, 0, i);
            int parent = _sys.OpenAt2(rootFd, parentPath, O_PATH | O_DIRECTORY | O_CLOEXEC, InRoot);
            if (parent < 0) throw new RuncsException($"{what}: opening {parentPath} in the rootfs: {Err(parent)}");
            try
            {
                bool last = i == parts.Length - 1;
                int r = last && file
                    ? _sys.MknodAt(parent, parts[i], (int)(S_IFREG | 0x1A4), 0)
                    : _sys.MkdirAt(parent, parts[i], 0x1ED);
                if (r < 0 && r != -17) throw new RuncsException($"{what}: creating {prefix} in the rootfs: {Err(r)}");
            }
            finally { _sys.Close(parent); }
        }
        int final = _sys.OpenAt2(rootFd, Rel(containerPath), O_PATH | O_CLOEXEC, InRoot);
        if (final < 0) throw new RuncsException($"{what}: opening {containerPath} in the rootfs: {Err(final)}");
        return final;
    }

    public int OpenRoot()
    {
        int fd = _sys.OpenAt2(Libc.AT_FDCWD, _rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) throw new RuncsException($"opening the rootfs {_rootfs}: {Err(fd)}");
        return fd;
    }

    /// <summary>Mounts every entry of config.mounts, in order.</summary>
    public void MountAll(int rootFd)
    {
        if (_c.Mounts is null) return;
        for (int i = 0; i < _c.Mounts.Count; i++)
        {
            var m = _c.Mounts[i];
            if (IdmapUsernsFds.TryGetValue(i, out int userns)) IdmapMount(rootFd, m, userns);
            else MountOne(rootFd, m);
        }
    }

    /// <summary>User namespace fds of the idmap/ridmap mounts, by mount index (made by the parent).</summary>
    public Dictionary<int, int> IdmapUsernsFds { get; init; } = new();

    /// <summary>
    /// An idmapped bind mount: a detached clone of the source tree (open_tree), given the user
    /// namespace's mapping (mount_setattr MOUNT_ATTR_IDMAP; recursively for ridmap), then attached
    /// at the destination resolved inside the rootfs (move_mount to its fd).
    /// </summary>
    private unsafe void IdmapMount(int rootFd, Mount m, int userns)
    {
        var o = MountOptions.Parse(m.Options);
        var what = $"mounting {m.Source} on {m.Destination} (idmapped)";
        if (string.IsNullOrEmpty(m.Source)) throw new RuncsException($"{what}: an idmap mount needs a source");
        var src = SourcePath(m.Source);
        bool isDir = Directory.Exists(src);
        if (!isDir && !File.Exists(src)) throw new RuncsException($"{what}: source {src} does not exist");
        bool recursive = o.RecursiveIdMap || o.Recursive;
        var srcBytes = System.Text.Encoding.UTF8.GetBytes(src + "\0");
        long tree;
        fixed (byte* p = srcBytes)
            tree = RawSyscalls.Invoke(SysNr.open_tree, Libc.AT_FDCWD, (long)p, 1 /* OPEN_TREE_CLONE */ | Libc.O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        if (tree < 0) throw new RuncsException($"{what}: open_tree: {Libc.StrError((int)-tree)}");
        try
        {
            var attr = new MountAttr { AttrSet = MOUNT_ATTR_IDMAP, UsernsFd = (ulong)userns };
            int r = Mounts.SetAttr((int)tree, "", AT_EMPTY_PATH | (o.RecursiveIdMap ? AT_RECURSIVE : 0), attr);
            if (r < 0) throw new RuncsException($"{what}: setting the id mapping: {Libc.StrError(-r)}");
            int dest = EnsureInRoot(rootFd, m.Destination, !isDir, what);
            try
            {
                byte* empty = stackalloc byte[1] { 0 };
                long mv = RawSyscalls.Invoke(SysNr.move_mount, tree, (long)empty, dest, (long)empty, 0x4 /* F_EMPTY_PATH */ | 0x40 /* T_EMPTY_PATH */);
                if (mv < 0) throw new RuncsException($"{what}: move_mount: {Libc.StrError((int)-mv)}");
            }
            finally { _sys.Close(dest); }
        }
        finally { Libc.close((int)tree); }
        ulong extra = o.Flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        if (extra != 0) Remount(rootFd, m.Destination, extra, what);
        AfterMount(rootFd, m.Destination, o, what);
    }

    private string SourcePath(string src) => src.StartsWith('/') ? src : Path.GetFullPath(Path.Combine(_ins.Bundle, src));

    public void MountOne(int rootFd, Mount m)
    {
        var o = MountOptions.Parse(m.Options);
        var type = m.Type ?? "";
        var what = $"mounting {(m.Source ?? type)} on {m.Destination}";
        if (o.TmpCopyUp) throw new RuncsException($"{what}: the tmpcopyup option is not supported by runcs yet");
        if (type == "bind") o.Flags |= MS_BIND;
        if (o.Bind)
        {
            BindMount(rootFd, m, o, what);
            return;
        }
        if (type is "cgroup" or "cgroup2")
        {
            CgroupMount(rootFd, m, o, what);
            return;
        }
        // proc and sysfs must land on a real directory, never through a symlink (CVE-2023-27561/28642).
        if (type is "proc" or "sysfs") RefuseSymlinkDestination(rootFd, m.Destination, what);
        int dest = EnsureInRoot(rootFd, m.Destination, false, what);
        try
        {
            var flags = o.Flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
            Check(_sys.Mount(m.Source ?? type, FdPath(dest), type, flags, o.Data.Length > 0 ? o.Data : null), what);
        }
        finally { _sys.Close(dest); }
        AfterMount(rootFd, m.Destination, o, what);
    }

    private void RefuseSymlinkDestination(int rootFd, string dest, string what)
    {
        int fd = _sys.OpenAt2(rootFd, Rel(dest), O_PATH | O_NOFOLLOW | O_CLOEXEC, InRoot);
        if (fd == -2) return;
        if (fd < 0) throw new RuncsException($"{what}: {Err(fd)}");
        try
        {
            long t = _sys.FileType(fd);
            if (t == S_IFLNK) throw new RuncsException($"{what}: the destination is a symlink, refusing to mount there");
            if (t >= 0 && t != S_IFDIR) throw new RuncsException($"{what}: the destination is not a directory");
        }
        finally { _sys.Close(fd); }
    }

    private void BindMount(int rootFd, Mount m, ParsedMountOptions o, string what)
    {
        if (string.IsNullOrEmpty(m.Source)) throw new RuncsException($"{what}: a bind mount needs a source");
        var src = SourcePath(m.Source);
        bool isDir;
        if (Directory.Exists(src)) isDir = true;
        else if (File.Exists(src) || new FileInfo(src).Exists || IsSpecial(src)) isDir = false;
        else throw new RuncsException($"{what}: source {src} does not exist");
        int dest = EnsureInRoot(rootFd, m.Destination, !isDir, what);
        try
        {
            Check(_sys.Mount(src, FdPath(dest), null, MS_BIND | (o.Flags & MS_REC), null), what);
        }
        finally { _sys.Close(dest); }
        // Flags other than bind/rec need a remount of the new mount to take effect.
        ulong extra = o.Flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        if (extra != 0) Remount(rootFd, m.Destination, extra, what);
        AfterMount(rootFd, m.Destination, o, what);
    }

    private static bool IsSpecial(string path)
    {
        try { return File.GetAttributes(path) != 0; } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Remounts a bind mount with extra flags, keeping the flags the kernel locks (in a user namespace).</summary>
    private unsafe void Remount(int rootFd, string dest, ulong flags, string what)
    {
        int fd = _sys.OpenAt2(rootFd, Rel(dest), O_PATH | O_CLOEXEC, InRoot);
        if (fd < 0) throw new RuncsException($"{what}: reopening {dest}: {Err(fd)}");
        try
        {
            var target = FdPath(fd);
            int r = _sys.Mount(null, target, null, MS_BIND | MS_REMOUNT | flags, null);
            if (r == -1 /* EPERM */)
            {
                StatFs st;
                if (_sys is LinuxSyscalls && fstatfs(fd, &st) == 0)
                {
                    ulong locked = 0;
                    if ((st.Flags & ST_NOSUID) != 0) locked |= MS_NOSUID;
                    if ((st.Flags & ST_NODEV) != 0) locked |= MS_NODEV;
                    if ((st.Flags & ST_NOEXEC) != 0) locked |= MS_NOEXEC;
                    if ((st.Flags & ST_RDONLY) != 0) locked |= MS_RDONLY;
                    if ((st.Flags & ST_NOATIME) != 0) locked |= MS_NOATIME;
                    if ((st.Flags & ST_NODIRATIME) != 0) locked |= MS_NODIRATIME;
                    if ((st.Flags & ST_RELATIME) != 0 && (flags & (MS_NOATIME | MS_STRICTATIME)) == 0) locked |= MS_RELATIME;
                    r = _sys.Mount(null, target, null, MS_BIND | MS_REMOUNT | flags | locked, null);
                }
            }
            Check(r, what + " (remount)");
        }
        finally { _sys.Close(fd); }
    }

    private void AfterMount(int rootFd, string dest, ParsedMountOptions o, string what)
    {
        if (o.Propagation.Count == 0 && o.RecAttrSet == 0 && o.RecAttrClr == 0) return;
        int fd = _sys.OpenAt2(rootFd, Rel(dest), O_PATH | O_CLOEXEC, InRoot);
        if (fd < 0) throw new RuncsException($"{what}: reopening {dest}: {Err(fd)}");
        try
        {
            foreach (var p in o.Propagation) Check(_sys.Mount(null, FdPath(fd), null, p, null), what + " (propagation)");
            if (o.RecAttrSet != 0 || o.RecAttrClr != 0)
            {
                var attr = new MountAttr { AttrSet = o.RecAttrSet, AttrClr = o.RecAttrClr };
                Check(_sys.MountSetAttr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, attr), what + " (recursive attributes)");
            }
        }
        finally { _sys.Close(fd); }
    }

    /// <summary>
    /// A "cgroup" mount: on cgroup v2 hosts a cgroup2 mount; on v1/hybrid hosts a tmpfs holding one
    /// mount per hierarchy — the hierarchy itself in a new cgroup namespace, otherwise a bind of the
    /// container's own cgroup directory, as runc does.
    /// </summary>
    private void CgroupMount(int rootFd, Mount m, ParsedMountOptions o, string what)
    {
        ulong flags = o.Flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
        bool cgroupns = _ins.NewNamespaces.Contains("cgroup");
        var hier = CgroupHierarchies();
        bool pureV2 = hier.Count == 1 && hier[0].FsType == "cgroup2" && hier[0].MountPoint == "/sys/fs/cgroup";
        if (m.Type == "cgroup2" || pureV2)
        {
            int d = EnsureInRoot(rootFd, m.Destination, false, what);
            try
            {
                int r = cgroupns ? _sys.Mount("cgroup2", FdPath(d), "cgroup2", flags, null) : -1;
                if (r < 0)
                {
                    var src = _ins.CgroupPaths is { } cp && cp.TryGetValue("", out var own) ? own : "/sys/fs/cgroup";
                    Check(_sys.Mount(src, FdPath(d), null, MS_BIND | MS_REC, null), what);
                    if ((flags & ~MS_RELATIME) != 0) Remount(rootFd, m.Destination, flags & ~MS_RELATIME, what);
                }
            }
            finally { _sys.Close(d); }
            return;
        }
        int dest = EnsureInRoot(rootFd, m.Destination, false, what);
        try
        {
            Check(_sys.Mount("tmpfs", FdPath(dest), "tmpfs", (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755"), what + " (tmpfs)");
        }
        finally { _sys.Close(dest); }
        foreach (var h in hier)
        {
            var name = h.MountPoint.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal) ? h.MountPoint["/sys/fs/cgroup/".Length..] : Path.GetFileName(h.MountPoint);
            if (name.Length == 0 || name.Contains('/')) continue;
            var sub = m.Destination.TrimEnd('/') + "/" + name;
            int d = EnsureInRoot(rootFd, sub, false, what);
            try
            {
                string key = h.FsType == "cgroup2" ? "" : h.Controllers.Split(',').FirstOrDefault(c => _ins.CgroupPaths?.ContainsKey(c) == true) ?? "";
                string? own = _ins.CgroupPaths is { } cp && cp.TryGetValue(h.FsType == "cgroup2" ? "" : key, out var p) && p.StartsWith(h.MountPoint, StringComparison.Ordinal) ? p : null;
                if (cgroupns)
                    Check(_sys.Mount("cgroup", FdPath(d), h.FsType, flags & ~MS_RDONLY, h.FsType == "cgroup2" ? null : h.SuperOptions), $"{what} ({name})");
                else
                    Check(_sys.Mount(own ?? h.MountPoint, FdPath(d), null, MS_BIND | MS_REC, null), $"{what} ({name})");
            }
            finally { _sys.Close(d); }
            if ((flags & MS_RDONLY) != 0 || !cgroupns) Remount(rootFd, sub, (flags | MS_NOSUID | MS_NODEV | MS_NOEXEC) & ~MS_RELATIME, $"{what} ({name})");
        }
        if ((flags & MS_RDONLY) != 0) Remount(rootFd, m.Destination, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, what + " (read-only)");
    }

    private sealed record Hierarchy(string MountPoint, string FsType, string Controllers, string SuperOptions);

    /// <summary>The host's cgroup mounts under /sys/fs/cgroup, from /proc/self/mountinfo.</summary>
    private static List<Hierarchy> CgroupHierarchies()
    {
        var list = new List<Hierarchy>();
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                int dash = line.IndexOf(" - ", StringComparison.Ordinal);
                if (dash < 0) continue;
                var left = line[..dash].Split(' ');
                var right = line[(dash + 3)..].Split(' ');
                if (right.Length < 3 || left.Length < 5) continue;
                var fstype = right[0];
                if (fstype is not ("cgroup" or "cgroup2")) continue;
                var mp = left[4];
                if (!mp.StartsWith("/sys/fs/cgroup", StringComparison.Ordinal)) continue;
                var super = right[2];
                var ctrls = string.Join(',', super.Split(',').Where(s => s is not ("rw" or "ro") && !s.StartsWith("release_agent", StringComparison.Ordinal) && s != "clone_children" && s != "noprefix" && s != "xattr" && s != "nsdelegate" && s != "memory_recursiveprot"));
                list.Add(new Hierarchy(mp, fstype, ctrls, ctrls));
            }
        }
        catch (IOException) { }
        return list;
    }

    /// <summary>True when the config mounts a fresh filesystem (not a bind) on /dev: then runcs populates it.</summary>
    public bool NeedsDevSetup() =>
        _c.Mounts?.Any(m => m.Destination.TrimEnd('/') == "/dev" && m.Type != "bind" && !MountOptions.Parse(m.Options).Bind) ?? false;

    private static readonly (string Path, long Major, long Minor)[] DefaultDevices =
        [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/tty", 5, 0), ("/dev/random", 1, 8), ("/dev/urandom", 1, 9)];

    /// <summary>Default devices, linux.devices, and the /dev symlinks.</summary>
    public void SetupDevices(int rootFd)
    {
        var configured = _c.Linux?.Devices ?? [];
        bool devSetup = NeedsDevSetup();
        var all = new List<Device>();
        if (devSetup)
            foreach (var (p, maj, min) in DefaultDevices)
                if (!configured.Any(d => d.Path == p))
                    all.Add(new Device { Path = p, Type = "c", Major = maj, Minor = min, FileMode = 0x1B6, Uid = 0, Gid = 0 });
        all.AddRange(configured);
        foreach (var d in all) CreateDevice(rootFd, d);
        if (!devSetup) return;
        foreach (var (target, link) in new[] { ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr") })
        {
            int dev = EnsureInRoot(rootFd, "/dev", false, "creating /dev symlinks");
            try
            {
                int r = _sys.SymlinkAt(target, dev, link);
                if (r < 0 && r != -17) throw new RuncsException($"creating /dev/{link}: {Err(r)}");
            }
            finally { _sys.Close(dev); }
        }
        // /dev/ptmx must be the devpts instance's multiplexer of this container.
        int devfd = EnsureInRoot(rootFd, "/dev", false, "setting up /dev/ptmx");
        try
        {
            int u = _sys.UnlinkAt(devfd, "ptmx", 0);
            if (u < 0 && u != -2) throw new RuncsException($"removing /dev/ptmx: {Err(u)}");
            Check(_sys.SymlinkAt("pts/ptmx", devfd, "ptmx"), "creating /dev/ptmx");
        }
        finally { _sys.Close(devfd); }
    }

    private void CreateDevice(int rootFd, Device d)
    {
        var what = $"creating device {d.Path}";
        var dir = Path.GetDirectoryName(d.Path) ?? "/";
        var name = Path.GetFileName(d.Path);
        int parent = EnsureInRoot(rootFd, dir, false, what);
        try
        {
            if (_userns)
            {
                // mknod is not allowed in a user namespace: bind the host's device node instead.
                int f = _sys.MknodAt(parent, name, (int)(S_IFREG | 0x1A4), 0);
                if (f < 0 && f != -17) throw new RuncsException($"{what}: {Err(f)}");
                int dest = EnsureInRoot(rootFd, d.Path, true, what);
                try { Check(_sys.Mount(d.Path, FdPath(dest), null, MS_BIND, null), what + " (bind from the host)"); }
                finally { _sys.Close(dest); }
                return;
            }
            uint type = d.Type switch { "b" => S_IFBLK, "p" => S_IFIFO, _ => S_IFCHR };
            int mode = (int)(type | (d.FileMode ?? 0x1B6) & 0xFFF);
            ulong dev = d.Type == "p" ? 0 : Makedev(d.Major ?? 0, d.Minor ?? 0);
            int r = _sys.MknodAt(parent, name, mode, dev);
            if (r == -17)
            {
                // Something (the image, an earlier mount) is already there: replace it with our node.
                _sys.UnlinkAt(parent, name, 0);
                r = _sys.MknodAt(parent, name, mode, dev);
            }
            Check(r, what);
            Check(_sys.FchownAt(parent, name, d.Uid ?? 0, d.Gid ?? 0, AT_SYMLINK_NOFOLLOW), what + " (chown)");
        }
        finally { _sys.Close(parent); }
    }

    /// <summary>Hostname and domainname (the uts namespace is new: the validator checked it).</summary>
    public void SetNames()
    {
        if (!string.IsNullOrEmpty(_c.Hostname) && Mounts.sethostname(_c.Hostname, System.Text.Encoding.UTF8.GetByteCount(_c.Hostname)) != 0)
            throw new RuncsException($"setting hostname {_c.Hostname}: {Libc.LastError()}");
        if (!string.IsNullOrEmpty(_c.Domainname) && Mounts.setdomainname(_c.Domainname, System.Text.Encoding.UTF8.GetByteCount(_c.Domainname)) != 0)
            throw new RuncsException($"setting domainname {_c.Domainname}: {Libc.LastError()}");
    }

    /// <summary>pivot_root into the rootfs and detach the old root (or MS_MOVE + chroot with --no-pivot).</summary>
    public void EnterRoot()
    {
        if (_ins.NoPivot)
        {
            if (Mounts.chdir(_rootfs) != 0) throw new RuncsException($"entering the rootfs {_rootfs}: {Libc.LastError()}");
            if (Mounts.mount(_rootfs, "/", null, MS_MOVE, null) != 0) throw new RuncsException($"moving the rootfs onto / (--no-pivot): {Libc.LastError()}");
            if (Mounts.chroot(".") != 0) throw new RuncsException($"chroot into the rootfs (--no-pivot): {Libc.LastError()}");
            if (Mounts.chdir("/") != 0) throw new RuncsException($"chdir / in the rootfs: {Libc.LastError()}");
            return;
        }
        int oldRoot = Libc.open("/", Libc.O_DIRECTORY | Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        int newRoot = Libc.open(_rootfs, Libc.O_DIRECTORY | Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (oldRoot < 0 || newRoot < 0) throw new RuncsException($"opening / or the rootfs for pivot_root: {Libc.LastError()}");
        try
        {
            if (Mounts.fchdir(newRoot) != 0) throw new RuncsException($"entering the rootfs {_rootfs}: {Libc.LastError()}");
            unsafe
            {
                byte* dot = stackalloc byte[2] { (byte)'.', 0 };
                long r = RawSyscalls.Invoke(SysNr.pivot_root, (long)dot, (long)dot);
                if (r < 0) throw new RuncsException($"pivot_root into {_rootfs}: {Libc.StrError((int)-r)}");
            }
            if (Mounts.fchdir(oldRoot) != 0) throw new RuncsException($"entering the old root: {Libc.LastError()}");
            // Keep the unmount of the old root from propagating back to the host.
            if (Mounts.mount(null, ".", null, MS_SLAVE | MS_REC, null) != 0) throw new RuncsException($"making the old root a slave: {Libc.LastError()}");
            if (Mounts.umount2(".", MNT_DETACH) != 0) throw new RuncsException($"detaching the old root: {Libc.LastError()}");
            if (Mounts.chdir("/") != 0) throw new RuncsException($"chdir / in the new root: {Libc.LastError()}");
        }
        finally
        {
            Libc.close(oldRoot);
            Libc.close(newRoot);
        }
    }

    /// <summary>After entering the root: sysctls, masked paths, read-only paths, read-only root, propagation.</summary>
    public unsafe void FinishInRoot()
    {
        var l = _c.Linux;
        // Sysctls first, as runc does: readonlyPaths (the default config lists /proc/sys) would make them unwritable.
        if (l?.Sysctl is { } sysctl)
        {
            foreach (var (k, v) in sysctl)
                WriteProcSys(k.Replace('.', '/'), v, $"setting sysctl {k}={v}");
        }
        if (l?.MaskedPaths is { Count: > 0 } masked)
        {
            int nullFd = OpenVerifiedDevNull();
            try
            {
                foreach (var p in masked) Mask(p, nullFd);
            }
            finally { if (nullFd >= 0) Libc.close(nullFd); }
        }
        if (l?.ReadonlyPaths is { } ro)
            foreach (var p in ro) ReadOnly(p);
        if (_c.Root?.Readonly == true)
        {
            ulong locked = LockedFlags("/");
            if (Mounts.mount(null, "/", null, MS_BIND | MS_REMOUNT | MS_RDONLY | locked, null) != 0)
                throw new RuncsException($"remounting the root filesystem read-only: {Libc.LastError()}");
        }
        if (l?.RootfsPropagation is { Length: > 0 } prop && Mounts.mount(null, "/", null, PropagationFlags(prop), null) != 0)
            throw new RuncsException($"setting rootfs propagation {prop}: {Libc.LastError()}");
    }

    public const long PROC_SUPER_MAGIC = 0x9fa0;

    /// <summary>
    /// Writes /proc/sys/&lt;rel&gt; only if it is a file of the container's procfs (CVE-2025-52881): /proc
    /// must be a procfs (fstatfs), and the lookup below it may not cross a mount (a bind or tmpfs a config
    /// or volume put over /proc/sys would swallow or redirect the write) nor follow a symlink.
    /// </summary>
    public static unsafe void WriteProcSys(string rel, string value, string what)
    {
        int proc = Mounts.OpenAt2(Libc.AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
        if (proc < 0) throw new RuncsException($"{what}: opening /proc: {Libc.StrError(-proc)}");
        try
        {
            StatFs st;
            if (fstatfs(proc, &st) != 0 || st.Type != PROC_SUPER_MAGIC)
                throw new RuncsException($"{what}: /proc in the container is not a procfs; refusing to write there");
            int fd = Mounts.OpenAt2(proc, "sys/" + rel, (ulong)(Libc.O_WRONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC), RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
            if (fd == -18 /* EXDEV */ || fd == -40 /* ELOOP */)
                throw new RuncsException($"{what}: /proc/sys/{rel} is covered by another mount or is a symlink; refusing to write through it");
            if (fd < 0) throw new RuncsException($"{what}: opening /proc/sys/{rel}: {Libc.StrError(-fd)}");
            try
            {
                if (fstatfs(fd, &st) != 0 || st.Type != PROC_SUPER_MAGIC)
                    throw new RuncsException($"{what}: /proc/sys/{rel} is not a procfs file; refusing to write it");
                var bytes = System.Text.Encoding.UTF8.GetBytes(value);
                fixed (byte* b = bytes)
                {
                    nint n = Libc.write(fd, b, bytes.Length);
                    if (n < 0) throw new RuncsException($"{what}: {Libc.LastError()}");
                }
            }
            finally { Libc.close(fd); }
        }
        finally { Libc.close(proc); }
    }

    /// <summary>/dev/null, checked to be the real null device (a symlink or other file there could redirect masks: CVE-2025-31133).</summary>
    private int OpenVerifiedDevNull()
    {
        int fd = Libc.open("/dev/null", Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
        if (fd < 0) return -1;
        var st = FStat(fd);
        if ((st.Mode & S_IFMT) != S_IFCHR || st.Rdev != Makedev(1, 3))
        {
            Libc.close(fd);
            throw new RuncsException("masking paths: /dev/null in the container is not the null device (1:3); refusing to use it");
        }
        return fd;
    }

    private void Mask(string path, int nullFd)
    {
        int fd = Mounts.OpenAt2(Libc.AT_FDCWD, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd == -2 || fd == -20) return; // ENOENT / ENOTDIR: nothing to mask
        if (fd < 0) throw new RuncsException($"masking {path}: {Libc.StrError(-fd)}");
        try
        {
            var st = FStat(fd);
            uint t = st.Mode & S_IFMT;
            if (t == S_IFLNK) return; // a symlink: masking its target would mask something else
            int r = t == S_IFDIR
                ? Mounts.mount("tmpfs", FdPath(fd), "tmpfs", MS_RDONLY, null)
                : nullFd < 0 ? -1 : Mounts.mount(FdPath(nullFd), FdPath(fd), null, MS_BIND, null);
            if (r != 0) throw new RuncsException($"masking {path}: {(nullFd < 0 && t != S_IFDIR ? "no /dev/null in the container" : Libc.LastError())}");
        }
        finally { Libc.close(fd); }
    }

    private void ReadOnly(string path)
    {
        int fd = Mounts.OpenAt2(Libc.AT_FDCWD, path, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd == -2 || fd == -20) return;
        if (fd < 0) throw new RuncsException($"making {path} read-only: {Libc.StrError(-fd)}");
        try
        {
            if (Mounts.mount(FdPath(fd), FdPath(fd), null, MS_BIND | MS_REC, null) != 0)
                throw new RuncsException($"making {path} read-only (bind): {Libc.LastError()}");
        }
        finally { Libc.close(fd); }
        fd = Mounts.OpenAt2(Libc.AT_FDCWD, path, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) throw new RuncsException($"making {path} read-only: {Libc.StrError(-fd)}");
        try
        {
            ulong locked = LockedFlags(FdPath(fd));
            if (Mounts.mount(null, FdPath(fd), null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked, null) != 0)
                throw new RuncsException($"making {path} read-only (remount): {Libc.LastError()}");
        }
        finally { Libc.close(fd); }
    }

    /// <summary>The flags a remount must keep (the kernel refuses to drop them in a user namespace).</summary>
    private static unsafe ulong LockedFlags(string path)
    {
        StatFs st;
        if (Mounts.statfs(path, &st) != 0) return 0;
        ulong f = 0;
        if ((st.Flags & ST_NOSUID) != 0) f |= MS_NOSUID;
        if ((st.Flags & ST_NODEV) != 0) f |= MS_NODEV;
        if ((st.Flags & ST_NOEXEC) != 0) f |= MS_NOEXEC;
        if ((st.Flags & ST_NOATIME) != 0) f |= MS_NOATIME;
        if ((st.Flags & ST_NODIRATIME) != 0) f |= MS_NODIRATIME;
        if ((st.Flags & ST_RELATIME) != 0) f |= MS_RELATIME;
        return f;
    }
}
