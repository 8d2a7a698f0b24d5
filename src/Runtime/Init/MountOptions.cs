using static Runcs.Linux.Mounts;

namespace Runcs.Init;

/// <summary>A mount's options split the way the kernel takes them.</summary>
public sealed class ParsedMountOptions
{
    /// <summary>MS_* flags for the mount (or the bind remount).</summary>
    public ulong Flags;
    /// <summary>MS_* flags explicitly cleared ("rw", "suid", ...), for remounts that must keep others.</summary>
    public ulong Cleared;
    /// <summary>Propagation changes, applied one by one after the mount (MS_SHARED|MS_REC, ...).</summary>
    public List<ulong> Propagation = new();
    /// <summary>Recursive attributes (rro, rnosuid, ...) applied with mount_setattr(AT_RECURSIVE).</summary>
    public uint RecAttrSet, RecAttrClr;
    public bool Bind => (Flags & MS_BIND) != 0;
    public bool Recursive => (Flags & MS_REC) != 0;
    public bool IdMap, RecursiveIdMap, TmpCopyUp;
    /// <summary>Filesystem-specific options passed as mount data (mode=755,size=65536k).</summary>
    public string Data = "";
}

/// <summary>Parses OCI mount options (fstab words and runc's extensions).</summary>
public static class MountOptions
{
    private static readonly Dictionary<string, (bool Clear, ulong Flag)> FlagWords = new()
    {
        ["defaults"] = (false, 0), ["ro"] = (false, MS_RDONLY), ["rw"] = (true, MS_RDONLY),
        ["suid"] = (true, MS_NOSUID), ["nosuid"] = (false, MS_NOSUID), ["dev"] = (true, MS_NODEV), ["nodev"] = (false, MS_NODEV),
        ["exec"] = (true, MS_NOEXEC), ["noexec"] = (false, MS_NOEXEC), ["sync"] = (false, MS_SYNCHRONOUS), ["async"] = (true, MS_SYNCHRONOUS),
        ["dirsync"] = (false, MS_DIRSYNC), ["remount"] = (false, MS_REMOUNT), ["mand"] = (false, MS_MANDLOCK), ["nomand"] = (true, MS_MANDLOCK),
        ["atime"] = (true, MS_NOATIME), ["noatime"] = (false, MS_NOATIME), ["diratime"] = (true, MS_NODIRATIME), ["nodiratime"] = (false, MS_NODIRATIME),
        ["relatime"] = (false, MS_RELATIME), ["norelatime"] = (true, MS_RELATIME), ["strictatime"] = (false, MS_STRICTATIME),
        ["nostrictatime"] = (true, MS_STRICTATIME), ["lazytime"] = (false, MS_LAZYTIME), ["nolazytime"] = (true, MS_LAZYTIME),
        ["silent"] = (false, MS_SILENT), ["loud"] = (true, MS_SILENT), ["symfollow"] = (true, MS_NOSYMFOLLOW), ["nosymfollow"] = (false, MS_NOSYMFOLLOW),
        ["bind"] = (false, MS_BIND), ["rbind"] = (false, MS_BIND | MS_REC),
    };

    private static readonly Dictionary<string, ulong> PropagationWords = new()
    {
        ["private"] = MS_PRIVATE, ["rprivate"] = MS_PRIVATE | MS_REC, ["shared"] = MS_SHARED, ["rshared"] = MS_SHARED | MS_REC,
        ["slave"] = MS_SLAVE, ["rslave"] = MS_SLAVE | MS_REC, ["unbindable"] = MS_UNBINDABLE, ["runbindable"] = MS_UNBINDABLE | MS_REC,
    };

    private static readonly Dictionary<string, (bool Clear, uint Attr)> RecursiveWords = new()
    {
        ["rro"] = (false, MOUNT_ATTR_RDONLY), ["rrw"] = (true, MOUNT_ATTR_RDONLY), ["rnosuid"] = (false, MOUNT_ATTR_NOSUID),
        ["rsuid"] = (true, MOUNT_ATTR_NOSUID), ["rnodev"] = (false, MOUNT_ATTR_NODEV), ["rdev"] = (true, MOUNT_ATTR_NODEV),
        ["rnoexec"] = (false, MOUNT_ATTR_NOEXEC), ["rexec"] = (true, MOUNT_ATTR_NOEXEC), ["rnodiratime"] = (false, MOUNT_ATTR_NODIRATIME),
        ["rdiratime"] = (true, MOUNT_ATTR_NODIRATIME), ["rnosymfollow"] = (false, MOUNT_ATTR_NOSYMFOLLOW), ["rsymfollow"] = (true, MOUNT_ATTR_NOSYMFOLLOW),
    };

    /// <summary>Every option word runcs understands (for `features`).</summary>
    public static IEnumerable<string> Known =>
        FlagWords.Keys.Concat(PropagationWords.Keys).Concat(RecursiveWords.Keys)
            .Concat(["rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime", "rnostrictatime", "idmap", "ridmap"])
            .Order(StringComparer.Ordinal);

    public static ParsedMountOptions Parse(IEnumerable<string>? options)
    {
        var r = new ParsedMountOptions();
        var data = new List<string>();
        if (options is null) return r;
        foreach (var o in options)
        {
            if (FlagWords.TryGetValue(o, out var f))
            {
                if (f.Clear) { r.Flags &= ~f.Flag; r.Cleared |= f.Flag; }
                else { r.Flags |= f.Flag; r.Cleared &= ~f.Flag; }
                // atime words are mutually exclusive in the kernel: keep the last one.
                if (o is "relatime" or "strictatime" or "noatime")
                    r.Flags &= ~((MS_RELATIME | MS_STRICTATIME | MS_NOATIME) & ~f.Flag);
            }
            else if (PropagationWords.TryGetValue(o, out var p)) r.Propagation.Add(p);
            else if (RecursiveWords.TryGetValue(o, out var a))
            {
                if (a.Clear) { r.RecAttrClr |= a.Attr; r.RecAttrSet &= ~a.Attr; }
                else { r.RecAttrSet |= a.Attr; r.RecAttrClr &= ~a.Attr; }
            }
            else if (o is "rrelatime" or "rnorelatime" or "rnoatime" or "ratime" or "rstrictatime" or "rnostrictatime")
            {
                r.RecAttrClr |= MOUNT_ATTR__ATIME;
                r.RecAttrSet &= ~MOUNT_ATTR__ATIME;
                r.RecAttrSet |= o switch { "rnoatime" => MOUNT_ATTR_NOATIME, "rstrictatime" => MOUNT_ATTR_STRICTATIME, _ => MOUNT_ATTR_RELATIME };
            }
            else if (o == "idmap") r.IdMap = true;
            else if (o == "ridmap") { r.IdMap = true; r.RecursiveIdMap = true; }
            else if (o == "tmpcopyup") r.TmpCopyUp = true;
            else data.Add(o);
        }
        r.Data = string.Join(',', data);
        return r;
    }
}
