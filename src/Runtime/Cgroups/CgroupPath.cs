namespace Runcs.Cgroups;

/// <summary>
/// The container's <c>linux.cgroupsPath</c>, validated. Absolute: taken as given under each
/// hierarchy's mount. Relative: joined to the runtime's own cgroup in each hierarchy. Empty: the
/// container id, relative. The systemd form <c>slice:prefix:name</c> needs systemd, which runcs
/// does not drive: it is refused with a clear message.
/// </summary>
public readonly record struct CgroupPath(bool Absolute, string Path)
{
    public static CgroupPath Resolve(string? cgroupsPath, string containerId, bool systemdDriver = false,
        string systemdRunDir = "/run/systemd/system")
    {
        if (systemdDriver)
        {
            if (!string.IsNullOrEmpty(cgroupsPath) && cgroupsPath.Split(':').Length != 3)
                throw new RuncsException($"invalid cgroupsPath \"{cgroupsPath}\": expected the form \"slice:prefix:name\" with --systemd-cgroup");
            if (!Directory.Exists(systemdRunDir))
                throw new RuncsException("cannot use the systemd cgroup driver (--systemd-cgroup): systemd is not running");
            throw new RuncsException("the systemd cgroup driver (--systemd-cgroup) is not supported by runcs; use a cgroupfs path");
        }
        string raw = string.IsNullOrEmpty(cgroupsPath) ? containerId : cgroupsPath;
        if (raw.Length == 0) throw new RuncsException("invalid cgroupsPath: empty and no container id");
        bool abs = raw[0] == '/';
        var parts = new List<string>();
        foreach (var p in raw.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") throw new RuncsException($"invalid cgroupsPath \"{raw}\": \"..\" is not allowed");
            if (p.Contains('\0')) throw new RuncsException($"invalid cgroupsPath \"{raw}\": contains a NUL byte");
            parts.Add(p);
        }
        if (parts.Count == 0) throw new RuncsException($"invalid cgroupsPath \"{raw}\": names no cgroup below the root");
        return new CgroupPath(abs, "/" + string.Join('/', parts));
    }

    /// <summary>The directory for this path in a hierarchy mounted at <paramref name="mountPoint"/> whose own-cgroup dir is <paramref name="ownDir"/>.</summary>
    public string DirIn(string mountPoint, string ownDir) =>
        CgroupLayout.JoinUnder(Absolute ? mountPoint : ownDir, Path);
}
