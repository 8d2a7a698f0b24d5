using System.Text;
using Runcs.Linux;

namespace Runcs.Processes;

/// <summary>
/// The file `runcs init` is executed from: never the host binary itself, so that a container able
/// to open /proc/&lt;pid&gt;/exe of a runcs process cannot write the runtime (CVE-2019-5736).
///
/// First choice: the binary seen through a private, read-only overlayfs mount that is never
/// attached anywhere (fsopen/fsmount): no copy, the page cache is shared with the host binary,
/// and writes through it fail with EROFS (an overlay with no upper layer cannot copy up). A sealed
/// memfd copy is the fallback where overlayfs or the new mount API is unavailable (old kernels,
/// unprivileged callers): it costs copying the whole binary (8 MB) on every create.
/// </summary>
public static unsafe class SelfCopy
{
    private const long FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;
    private const long FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
    private const long MOUNT_ATTR_RDONLY = 1, MOUNT_ATTR_NOSUID = 2, MOUNT_ATTR_NODEV = 4;
    private const long SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432;

    /// <summary>How the last <see cref="Create"/> sealed the binary ("overlay" or "memfd"), for logs and tests.</summary>
    public static string LastMethod { get; private set; } = "";

    public static int Create()
    {
        int fd = TryOverlay(out var why);
        if (fd >= 0) { LastMethod = "overlay"; return fd; }
        Log.Debug($"read-only overlay of the runcs binary unavailable ({why}): using a sealed memfd copy");
        LastMethod = "memfd";
        return CreateMemfd();
    }

    /// <summary>Returns an O_PATH fd of the binary on a detached read-only overlay, or -1 with the reason.</summary>
    private static int TryOverlay(out string why)
    {
        why = "";
        var exe = ReadLink("/proc/self/exe");
        if (exe is null || !exe.StartsWith('/') || exe.EndsWith(" (deleted)", StringComparison.Ordinal)) { why = "cannot name the running binary"; return -1; }
        var dir = Path.GetDirectoryName(exe)!;
        var name = Path.GetFileName(exe);
        // overlayfs separates layers with ':' and options with ','; '\\' escapes: keep it simple.
        if (dir.IndexOfAny([':', ',', '\\']) >= 0) { why = "the binary's directory has ':' ',' or '\\\\' in its name"; return -1; }
        long empty = -1, emptyMnt = -1, ovl = -1, mnt = -1;
        try
        {
            // The second (bottom) layer: an empty tmpfs, itself never attached anywhere. overlayfs
            // needs two lower layers when there is no upper one.
            empty = Fs("tmpfs");
            if (empty < 0) { why = $"fsopen tmpfs: {Libc.StrError((int)-empty)}"; return -1; }
            long r = Config(empty, FSCONFIG_CMD_CREATE, null, null);
            if (r < 0) { why = $"creating an empty tmpfs: {Libc.StrError((int)-r)}"; return -1; }
            emptyMnt = RawSyscalls.Invoke(SYS_fsmount, empty, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
            if (emptyMnt < 0) { why = $"fsmount tmpfs: {Libc.StrError((int)-emptyMnt)}"; return -1; }

            ovl = Fs("overlay");
            if (ovl < 0) { why = $"fsopen overlay: {Libc.StrError((int)-ovl)}"; return -1; }
            r = Config(ovl, FSCONFIG_SET_STRING, "lowerdir", $"{dir}:/proc/self/fd/{emptyMnt}");
            if (r < 0) { why = $"overlay lowerdir: {Libc.StrError((int)-r)}"; return -1; }
            r = Config(ovl, FSCONFIG_CMD_CREATE, null, null);
            if (r < 0) { why = $"creating the overlay: {Libc.StrError((int)-r)}"; return -1; }
            mnt = RawSyscalls.Invoke(SYS_fsmount, ovl, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
            if (mnt < 0) { why = $"fsmount overlay: {Libc.StrError((int)-mnt)}"; return -1; }
            long fd;
            fixed (byte* p = Encoding.UTF8.GetBytes(name + "\0"))
                fd = RawSyscalls.Invoke(SysNr.openat, mnt, (long)p, Libc.O_PATH | Libc.O_CLOEXEC | Libc.O_NOFOLLOW);
            if (fd < 0) { why = $"opening {name} on the overlay: {Libc.StrError((int)-fd)}"; return -1; }
            return (int)fd;
        }
        finally
        {
            // The file fd keeps its (detached) mount alive; nothing else is needed.
            foreach (var f in new[] { mnt, ovl, emptyMnt, empty }) if (f >= 0) Libc.close((int)f);
        }
    }

    private static long Fs(string type)
    {
        fixed (byte* p = Encoding.UTF8.GetBytes(type + "\0"))
            return RawSyscalls.Invoke(SYS_fsopen, (long)p, FSOPEN_CLOEXEC);
    }

    private static long Config(long fsfd, long cmd, string? key, string? value)
    {
        fixed (byte* k = key is null ? null : Encoding.UTF8.GetBytes(key + "\0"))
        fixed (byte* v = value is null ? null : Encoding.UTF8.GetBytes(value + "\0"))
            return RawSyscalls.Invoke(SYS_fsconfig, fsfd, cmd, (long)k, (long)v, 0);
    }

    private static string? ReadLink(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (IOException) { return null; }
    }

    private static int CreateMemfd()
    {
        int src = Libc.open("/proc/self/exe", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (src < 0) throw new RuncsException($"opening /proc/self/exe: {Libc.LastError()}");
        int mfd = -1;
        try
        {
            mfd = Libc.memfd_create("runcs", Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
            if (mfd < 0) throw new RuncsException($"memfd_create: {Libc.LastError()}");
            while (true)
            {
                nint n = Libc.sendfile(mfd, src, null, 1 << 30);
                if (n < 0)
                {
                    if (Libc.Errno == 4) continue;
                    throw new RuncsException($"copying runcs into a memfd: {Libc.LastError()}");
                }
                if (n == 0) break;
            }
            // F_SEAL_FUTURE_WRITE rather than F_SEAL_WRITE: the latter makes the kernel wait for
            // every transient page reference (LRU batches on another CPU, compaction, reclaim) to
            // go and fails with EBUSY after ~150 ms when one lingers, which made `create` fail
            // about once in a few hundred runs under load. Nobody has mapped this memfd, so
            // refusing all future writes and writable mappings seals it just as completely.
            // Kernels before 5.1 lack FUTURE_WRITE (EINVAL): fall back to F_SEAL_WRITE there.
            const int baseSeals = Libc.F_SEAL_SEAL | Libc.F_SEAL_SHRINK | Libc.F_SEAL_GROW;
            if (Libc.fcntl(mfd, Libc.F_ADD_SEALS, baseSeals | Libc.F_SEAL_FUTURE_WRITE) != 0
                && (Libc.Errno != 22 || Libc.fcntl(mfd, Libc.F_ADD_SEALS, baseSeals | Libc.F_SEAL_WRITE) != 0))
                throw new RuncsException($"sealing the runcs memfd: {Libc.LastError()}");
            int r = mfd;
            mfd = -1;
            return r;
        }
        finally
        {
            Libc.close(src);
            if (mfd >= 0) Libc.close(mfd);
        }
    }
}
