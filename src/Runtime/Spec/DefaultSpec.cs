namespace Runcs.Spec;

/// <summary>The starter config `runcs spec` writes: runc's defaults, with runcs's spec version and hostname.</summary>
public static class DefaultSpec
{
    private static readonly string[] DefaultCaps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

    public static Config Create(bool rootless, uint uid = 0, uint gid = 0)
    {
        var c = new Config
        {
            OciVersion = SpecInfo.Version,
            Process = new Process
            {
                Terminal = true,
                User = new User { Uid = 0, Gid = 0 },
                Args = ["sh"],
                Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                Cwd = "/",
                Capabilities = new Capabilities
                {
                    Bounding = [.. DefaultCaps], Effective = [.. DefaultCaps], Permitted = [.. DefaultCaps], Ambient = [.. DefaultCaps],
                },
                Rlimits = [new Rlimit { Type = "RLIMIT_NOFILE", Hard = 1024, Soft = 1024 }],
                NoNewPrivileges = true,
            },
            Root = new Root { Path = "rootfs", Readonly = true },
            Hostname = "runcs",
            Mounts =
            [
                new Mount { Destination = "/proc", Type = "proc", Source = "proc" },
                new Mount { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
                new Mount { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
                new Mount { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
                new Mount { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
                new Mount { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", "ro"] },
                new Mount { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = ["nosuid", "noexec", "nodev", "relatime", "ro"] },
            ],
            Linux = new Linux
            {
                Resources = new Resources { Devices = [new DeviceCgroup { Allow = false, Access = "rwm" }] },
                Namespaces =
                [
                    new Namespace { Type = "pid" }, new Namespace { Type = "network" }, new Namespace { Type = "ipc" },
                    new Namespace { Type = "uts" }, new Namespace { Type = "mount" },
                ],
                MaskedPaths =
                [
                    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                ],
                ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
            },
        };
        if (rootless) MakeRootless(c, uid, gid);
        return c;
    }

    /// <summary>runc's rootless variant: user namespace mapping the caller, no network ns, /sys bound, no cgroup mount.</summary>
    private static void MakeRootless(Config c, uint uid, uint gid)
    {
        var l = c.Linux!;
        l.Resources = null;
        l.UidMappings = [new IdMapping { ContainerID = 0, HostID = uid, Size = 1 }];
        l.GidMappings = [new IdMapping { ContainerID = 0, HostID = gid, Size = 1 }];
        l.Namespaces = [.. l.Namespaces!.Where(n => n.Type != "network"), new Namespace { Type = "user" }];
        var mounts = new List<Mount>();
        foreach (var m in c.Mounts!)
        {
            if (m.Destination == "/sys/fs/cgroup") continue;
            if (m.Destination == "/sys")
            {
                mounts.Add(new Mount { Destination = "/sys", Type = "none", Source = "/sys", Options = ["rbind", "nosuid", "noexec", "nodev", "ro"] });
                continue;
            }
            if (m.Destination == "/dev/pts") m.Options = m.Options!.Where(o => o != "gid=5").ToList();
            mounts.Add(m);
        }
        c.Mounts = mounts;
    }
}
