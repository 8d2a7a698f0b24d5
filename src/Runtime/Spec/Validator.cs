using Runcs.Linux;

namespace Runcs.Spec;

/// <summary>
/// The rules the schema cannot express, checked before anything is created. Each violation is a
/// <see cref="ConfigException"/> with the JSON pointer of the value and the rule it breaks.
/// </summary>
public static class Validator
{
    private static readonly string[] SeccompActions =
        ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
         "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"];
    private static readonly string[] SeccompOps =
        ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
    private static readonly string[] SeccompArchs =
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_LOONGARCH64",
         "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
         "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
         "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB"];
    private static readonly string[] SeccompFlags =
        ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"];
    private static readonly string[] Propagations = ["private", "shared", "slave", "unbindable", "rprivate", "rshared", "rslave", "runbindable"];

    /// <summary>Validates a parsed config for a bundle; returns the absolute rootfs path.</summary>
    public static string Validate(Config c, string bundle, bool forCreate)
    {
        if (c.Root is null || c.Root.Path.Length == 0) throw new ConfigException("/root/path", "root.path is required");
        var rootfs = Path.GetFullPath(Path.Combine(bundle, c.Root.Path));
        if (!Directory.Exists(rootfs))
            throw new ConfigException("/root/path", $"root filesystem {rootfs} does not exist or is not a directory");

        if (forCreate)
        {
            if (c.Process is null) throw new ConfigException("/process", "process is required to create a container");
        }
        if (c.Process is { } p) ValidateProcess(p, "/process", forCreate);
        // runcs implements no LSM (features: apparmor and selinux disabled) and this class of host has none:
        // a label that cannot be applied is an error, never silently dropped (CVE-2019-16884 class: a
        // container must not run unconfined while its manager believes it is confined).
        if (forCreate && c.Process is { } lp) Lsm.CheckRequested(lp.ApparmorProfile, lp.SelinuxLabel, "/process");

        var nsTypes = new HashSet<string>();
        var l = c.Linux;
        if (l?.Namespaces is { } nss)
        {
            for (int i = 0; i < nss.Count; i++)
            {
                var ns = nss[i];
                var ptr = $"/linux/namespaces/{i}";
                int idx = Tables.NamespaceIndex(ns.Type);
                if (idx < 0) throw new ConfigException(ptr + "/type", $"unknown namespace type \"{ns.Type}\"");
                if (!nsTypes.Add(ns.Type)) throw new ConfigException(ptr + "/type", $"duplicate namespace \"{ns.Type}\"");
                if (ns.Path is { Length: > 0 } path) CheckNamespacePath(path, Tables.Namespaces[idx].ProcName, ns.Type, ptr + "/path");
            }
        }
        bool userNs = nsTypes.Contains("user");
        if (l?.UidMappings is { Count: > 0 } && !userNs)
            throw new ConfigException("/linux/uidMappings", "uid mappings require a user namespace (linux.namespaces has no \"user\")");
        if (l?.GidMappings is { Count: > 0 } && !userNs)
            throw new ConfigException("/linux/gidMappings", "gid mappings require a user namespace (linux.namespaces has no \"user\")");
        if (l?.TimeOffsets is { Count: > 0 } to)
        {
            if (!nsTypes.Contains("time")) throw new ConfigException("/linux/timeOffsets", "time offsets require a time namespace (linux.namespaces has no \"time\")");
            foreach (var k in to.Keys)
                if (k is not ("boottime" or "monotonic")) throw new ConfigException("/linux/timeOffsets/" + k, $"unknown clock \"{k}\" (boottime or monotonic)");
        }
        if (!string.IsNullOrEmpty(c.Hostname) && !nsTypes.Contains("uts"))
            throw new ConfigException("/hostname", "setting the hostname requires a new uts namespace");
        if (!string.IsNullOrEmpty(c.Domainname) && !nsTypes.Contains("uts"))
            throw new ConfigException("/domainname", "setting the domainname requires a new uts namespace");

        if (c.Hooks is { } hooks)
        {
            foreach (var (kind, list) in new[] { ("prestart", hooks.Prestart), ("createRuntime", hooks.CreateRuntime), ("createContainer", hooks.CreateContainer),
                                                  ("startContainer", hooks.StartContainer), ("poststart", hooks.Poststart), ("poststop", hooks.Poststop) })
            {
                if (list is null) continue;
                for (int i = 0; i < list.Count; i++)
                {
                    if (list[i].Path.Length == 0 || list[i].Path[0] != '/') throw new ConfigException($"/hooks/{kind}/{i}/path", $"hook path \"{list[i].Path}\" is not absolute");
                    if (list[i].Timeout is <= 0) throw new ConfigException($"/hooks/{kind}/{i}/timeout", $"hook timeout {list[i].Timeout} must be positive");
                }
            }
        }
        CheckMappings(l?.UidMappings, "/linux/uidMappings");
        CheckMappings(l?.GidMappings, "/linux/gidMappings");
        if (l?.TimeOffsets is { } tos)
            foreach (var (k, v) in tos)
                if (v.Nanosecs >= 1_000_000_000) throw new ConfigException($"/linux/timeOffsets/{k}/nanosecs", $"nanosecs {v.Nanosecs} must be below 1000000000");

        if (c.Mounts is { } mounts)
        {
            for (int i = 0; i < mounts.Count; i++)
            {
                var m = mounts[i];
                if (m.Destination.Length == 0) throw new ConfigException($"/mounts/{i}/destination", "mount destination is empty");
                if (m.Destination[0] != '/') throw new ConfigException($"/mounts/{i}/destination", $"mount destination \"{m.Destination}\" is not an absolute path");
                if ((m.UidMappings is { Count: > 0 } || m.GidMappings is { Count: > 0 }) && !(m.UidMappings is { Count: > 0 } && m.GidMappings is { Count: > 0 }))
                    throw new ConfigException($"/mounts/{i}", "an idmapped mount needs both uidMappings and gidMappings");
            }
        }

        if (l is not null) ValidateLinux(l, nsTypes);
        return rootfs;
    }

    private static void CheckMappings(List<IdMapping>? maps, string ptr)
    {
        if (maps is null) return;
        for (int i = 0; i < maps.Count; i++)
        {
            var m = maps[i];
            if (m.Size == 0) throw new ConfigException($"{ptr}/{i}", "an id mapping needs a size above 0");
            if ((ulong)m.ContainerID + m.Size > 1UL << 32 || (ulong)m.HostID + m.Size > 1UL << 32)
                throw new ConfigException($"{ptr}/{i}", $"id mapping {m.ContainerID} {m.HostID} {m.Size} runs past 4294967295");
        }
    }

    public static void ValidateProcess(Process p, string ptr, bool needArgs)
    {
        // exec's process.json is not schema-checked: JSON nulls reach here where the model has none (issue #8 fuzzing).
        if (p.User is null) throw new ConfigException(ptr + "/user", "user must be an object, not null");
        if (p.Cwd is null) throw new ConfigException(ptr + "/cwd", "cwd must be a string, not null");
        NoNulls(p.Args, ptr + "/args");
        NoNulls(p.Env, ptr + "/env");
        NoNulls(p.Rlimits, ptr + "/rlimits");
        if (p.Rlimits is { } rls)
            for (int i = 0; i < rls.Count; i++)
                if (rls[i].Type is null) throw new ConfigException($"{ptr}/rlimits/{i}/type", "rlimit type must be a string, not null");
        if (p.Capabilities is { } cs)
        {
            NoNulls(cs.Bounding, ptr + "/capabilities/bounding");
            NoNulls(cs.Effective, ptr + "/capabilities/effective");
            NoNulls(cs.Inheritable, ptr + "/capabilities/inheritable");
            NoNulls(cs.Permitted, ptr + "/capabilities/permitted");
            NoNulls(cs.Ambient, ptr + "/capabilities/ambient");
        }
        if (needArgs && (p.Args is null || p.Args.Count == 0) && string.IsNullOrEmpty(p.CommandLine))
            throw new ConfigException(ptr + "/args", "process.args must not be empty");
        if (p.Args is { Count: > 0 } && p.Args[0].Length == 0)
            throw new ConfigException(ptr + "/args/0", "the program name must not be empty");
        if (p.Cwd.Length == 0 || p.Cwd[0] != '/')
            throw new ConfigException(ptr + "/cwd", $"cwd \"{p.Cwd}\" is not an absolute path");
        if (p.Env is { } env)
            for (int i = 0; i < env.Count; i++)
                if (env[i].IndexOf('=') <= 0) throw new ConfigException($"{ptr}/env/{i}", $"environment entry \"{env[i]}\" is not of the form KEY=value");
        if (p.Capabilities is { } caps)
        {
            CheckCaps(caps.Bounding, ptr + "/capabilities/bounding");
            CheckCaps(caps.Effective, ptr + "/capabilities/effective");
            CheckCaps(caps.Inheritable, ptr + "/capabilities/inheritable");
            CheckCaps(caps.Permitted, ptr + "/capabilities/permitted");
            CheckCaps(caps.Ambient, ptr + "/capabilities/ambient");
        }
        if (p.Rlimits is { } rl)
        {
            var seen = new HashSet<string>();
            for (int i = 0; i < rl.Count; i++)
            {
                if (Tables.RlimitNumber(rl[i].Type) < 0) throw new ConfigException($"{ptr}/rlimits/{i}/type", $"unknown rlimit type \"{rl[i].Type}\"");
                if (!seen.Add(rl[i].Type)) throw new ConfigException($"{ptr}/rlimits/{i}/type", $"duplicate rlimit type \"{rl[i].Type}\"");
                if (rl[i].Soft > rl[i].Hard) throw new ConfigException($"{ptr}/rlimits/{i}/soft", $"soft limit {rl[i].Soft} exceeds hard limit {rl[i].Hard}");
            }
        }
        if (p.OomScoreAdj is { } oom && (oom < -1000 || oom > 1000))
            throw new ConfigException(ptr + "/oomScoreAdj", $"oomScoreAdj {oom} is outside -1000..1000");
        if (p.User.Umask is { } um && um > 0x1FF)
            throw new ConfigException(ptr + "/user/umask", $"umask {um} is larger than 0777");
        if (p.IoPriority is { } io)
        {
            if (io.Class is not ("IOPRIO_CLASS_RT" or "IOPRIO_CLASS_BE" or "IOPRIO_CLASS_IDLE"))
                throw new ConfigException(ptr + "/ioPriority/class", $"unknown I/O priority class \"{io.Class}\"");
            if (io.Priority < 0 || io.Priority > 7) throw new ConfigException(ptr + "/ioPriority/priority", $"I/O priority {io.Priority} is outside 0..7");
        }
        if (p.Scheduler is { } s)
        {
            if (s.Policy is not ("SCHED_OTHER" or "SCHED_FIFO" or "SCHED_RR" or "SCHED_BATCH" or "SCHED_ISO" or "SCHED_IDLE" or "SCHED_DEADLINE"))
                throw new ConfigException(ptr + "/scheduler/policy", $"unknown scheduler policy \"{s.Policy}\"");
            if (s.Nice < -20 || s.Nice > 19) throw new ConfigException(ptr + "/scheduler/nice", $"nice {s.Nice} is outside -20..19");
        }
        if (p.ExecCpuAffinity is { } aff)
        {
            CheckCpuList(aff.Initial, ptr + "/execCPUAffinity/initial");
            CheckCpuList(aff.Final, ptr + "/execCPUAffinity/final");
        }
    }

    private static void NoNulls<T>(List<T>? list, string ptr)
    {
        if (list is null) return;
        for (int i = 0; i < list.Count; i++)
            if (list[i] is null) throw new ConfigException($"{ptr}/{i}", "null is not allowed here");
    }

    private static void CheckCpuList(string? list, string ptr)
    {
        if (string.IsNullOrEmpty(list)) return;
        foreach (var part in list.Split(','))
        {
            var t = part.Trim();
            var ends = t.Split('-');
            if (ends.Length > 2 || ends.Any(e => !uint.TryParse(e.Trim(), out _)))
                throw new ConfigException(ptr, $"invalid CPU list \"{list}\"");
            if (ends.Length == 2 && uint.Parse(ends[0].Trim()) > uint.Parse(ends[1].Trim()))
                throw new ConfigException(ptr, $"invalid CPU range \"{t}\" in \"{list}\"");
        }
    }

    private static void CheckCaps(List<string>? caps, string ptr)
    {
        if (caps is null) return;
        for (int i = 0; i < caps.Count; i++)
            if (Tables.CapabilityNumber(caps[i]) < 0) throw new ConfigException($"{ptr}/{i}", $"unknown capability \"{caps[i]}\"");
    }

    private static void ValidateLinux(Linux l, HashSet<string> nsTypes)
    {
        if (l.RootfsPropagation is { Length: > 0 } rp && !Propagations.Contains(rp))
            throw new ConfigException("/linux/rootfsPropagation", $"unknown rootfs propagation \"{rp}\"");
        if (l.Devices is { } devs)
        {
            for (int i = 0; i < devs.Count; i++)
            {
                var d = devs[i];
                if (d.Type is not ("c" or "b" or "u" or "p")) throw new ConfigException($"/linux/devices/{i}/type", $"unknown device type \"{d.Type}\"");
                if (d.Path.Length == 0 || d.Path[0] != '/') throw new ConfigException($"/linux/devices/{i}/path", $"device path \"{d.Path}\" is not absolute");
                if (d.Type != "p" && (d.Major is null || d.Minor is null)) throw new ConfigException($"/linux/devices/{i}", $"device {d.Path} of type {d.Type} needs major and minor numbers");
            }
        }
        if (l.Sysctl is { } sys)
        {
            foreach (var k in sys.Keys)
            {
                var key = k.Replace('/', '.');
                var ptr = "/linux/sysctl/" + k.Replace("~", "~0").Replace("/", "~1");
                // Only namespaced sysctls may be set, and only when the container has that namespace.
                string? ns = key.StartsWith("net.", StringComparison.Ordinal) ? "network"
                    : key is "kernel.msgmax" or "kernel.msgmnb" or "kernel.msgmni" or "kernel.sem" or "kernel.shmall" or "kernel.shmmax"
                        or "kernel.shmmni" or "kernel.shm_rmid_forced" || key.StartsWith("fs.mqueue.", StringComparison.Ordinal) ? "ipc"
                    : key is "kernel.hostname" or "kernel.domainname" ? "uts"
                    : null;
                if (ns is null) throw new ConfigException(ptr, $"sysctl \"{k}\" is not in a separate kernel namespace; setting it would change the host");
                if (!nsTypes.Contains(ns)) throw new ConfigException(ptr, $"sysctl \"{k}\" needs a new {ns} namespace");
            }
        }
        if (l.Resources?.HugepageLimits is { } hp)
        {
            for (int i = 0; i < hp.Count; i++)
            {
                var ps = hp[i].PageSize;
                ulong mult = ps.EndsWith("KB", StringComparison.Ordinal) ? 1UL << 10 : ps.EndsWith("MB", StringComparison.Ordinal) ? 1UL << 20 : ps.EndsWith("GB", StringComparison.Ordinal) ? 1UL << 30 : 0;
                if (mult == 0 || !ulong.TryParse(ps[..^2], out var n) || n == 0 || !ulong.IsPow2(n * mult))
                    throw new ConfigException($"/linux/resources/hugepageLimits/{i}/pageSize", $"\"{ps}\" is not a huge page size (a power of two with KB, MB or GB)");
            }
        }
        if (l.Seccomp is { } sc)
        {
            if (!SeccompActions.Contains(sc.DefaultAction)) throw new ConfigException("/linux/seccomp/defaultAction", $"unknown seccomp action \"{sc.DefaultAction}\"");
            if (sc.Architectures is { } archs)
                for (int i = 0; i < archs.Count; i++)
                    if (!SeccompArchs.Contains(archs[i])) throw new ConfigException($"/linux/seccomp/architectures/{i}", $"unknown seccomp architecture \"{archs[i]}\"");
            if (sc.Flags is { } flags)
                for (int i = 0; i < flags.Count; i++)
                    if (!SeccompFlags.Contains(flags[i])) throw new ConfigException($"/linux/seccomp/flags/{i}", $"unknown seccomp flag \"{flags[i]}\"");
            bool notify = sc.DefaultAction == "SCMP_ACT_NOTIFY";
            if (sc.Syscalls is { } calls)
            {
                for (int i = 0; i < calls.Count; i++)
                {
                    var call = calls[i];
                    if (!SeccompActions.Contains(call.Action)) throw new ConfigException($"/linux/seccomp/syscalls/{i}/action", $"unknown seccomp action \"{call.Action}\"");
                    notify |= call.Action == "SCMP_ACT_NOTIFY";
                    if (call.Names.Count == 0) throw new ConfigException($"/linux/seccomp/syscalls/{i}/names", "a seccomp rule needs at least one syscall name");
                    if (call.Args is { } args)
                        for (int j = 0; j < args.Count; j++)
                        {
                            if (!SeccompOps.Contains(args[j].Op)) throw new ConfigException($"/linux/seccomp/syscalls/{i}/args/{j}/op", $"unknown seccomp operator \"{args[j].Op}\"");
                            if (args[j].Index > 5) throw new ConfigException($"/linux/seccomp/syscalls/{i}/args/{j}/index", $"syscall argument index {args[j].Index} is outside 0..5");
                        }
                }
            }
            if (notify && string.IsNullOrEmpty(sc.ListenerPath))
                throw new ConfigException("/linux/seccomp/listenerPath", "SCMP_ACT_NOTIFY needs a listenerPath");
            if (sc.DefaultAction == "SCMP_ACT_NOTIFY")
                throw new ConfigException("/linux/seccomp/defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
        }
        if (l.Personality is { } pers && pers.Domain is not ("LINUX" or "LINUX32"))
            throw new ConfigException("/linux/personality/domain", $"unknown personality domain \"{pers.Domain}\"");
        if (l.Resources?.Devices is { } rules)
        {
            for (int i = 0; i < rules.Count; i++)
            {
                var r = rules[i];
                if (r.Type is { Length: > 0 } t && t is not ("a" or "c" or "b"))
                    throw new ConfigException($"/linux/resources/devices/{i}/type", $"unknown device rule type \"{t}\" (a, b or c)");
                if (r.Access is { Length: > 0 } acc && acc.Any(ch => ch is not ('r' or 'w' or 'm')))
                    throw new ConfigException($"/linux/resources/devices/{i}/access", $"invalid device access \"{acc}\" (letters r, w, m)");
            }
        }
    }

    /// <summary>The file must exist and be a namespace of the stated type (ioctl NS_GET_NSTYPE: works for bind-mounted nsfs files too).</summary>
    private static void CheckNamespacePath(string path, string procName, string type, string ptr)
    {
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new ConfigException(ptr, $"namespace path {path}: {Libc.LastError()}");
        try
        {
            int want = Tables.Namespaces[Tables.NamespaceIndex(type)].CloneFlag;
            int got = Terminal.Pty.ioctl(fd, 0xb703 /* NS_GET_NSTYPE */, 0);
            if (got < 0) throw new ConfigException(ptr, $"{path} is not a namespace file");
            if (got != want)
            {
                var actual = Tables.Namespaces.FirstOrDefault(n => n.CloneFlag == got).Type ?? $"0x{got:x}";
                throw new ConfigException(ptr, $"{path} is not a {type} namespace (it is a {actual} namespace)");
            }
        }
        finally { Libc.close(fd); }
    }
}
