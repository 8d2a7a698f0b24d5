using Runcs.Linux;

namespace Runcs.Spec;

/// <summary>
/// What this build of runcs implements, in one place: `runcs features` prints it and the
/// validator and launcher consult the same lists. Keep it truthful: an entry appears here only
/// once the code that carries it out has landed with its tests.
/// </summary>
public static class FeaturesInfo
{
    /// <summary>Hooks the lifecycle runs.</summary>
    public static readonly string[] Hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

    /// <summary>Namespace types create can set up (new or joined by path).</summary>
    public static readonly string[] Namespaces = ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"];

    /// <summary>Mount options the rootfs builder carries out (tmpcopyup is refused, so not listed).</summary>
    public static string[] MountOptions => [.. Init.MountOptions.Known];

    public static bool SeccompEnforced => true;
    public static bool CgroupV1 => true;
    public static bool CgroupV2 => true;

    /// <summary>
    /// Whether the running kernel knows a seccomp filter flag: seccomp(SET_MODE_FILTER, flag, NULL)
    /// fails with EFAULT (it got as far as reading the program) for known flags, EINVAL otherwise.
    /// </summary>
    public static bool KernelHasSeccompFlag(string name)
    {
        long bit = name switch
        {
            "SECCOMP_FILTER_FLAG_TSYNC" => 1, "SECCOMP_FILTER_FLAG_LOG" => 2, "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => 4,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => 32, _ => 0,
        };
        if (bit == 0) return false;
        // WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER (8).
        long flags = bit == 32 ? bit | 8 : bit;
        return Runcs.Linux.RawSyscalls.Invoke(Runcs.Linux.SysNr.seccomp, 1, flags, 0) == -14;
    }

    public static Features Build() => new()
    {
        OciVersionMin = "1.0.0",
        OciVersionMax = SpecInfo.Version,
        Hooks = [.. Hooks],
        MountOptions = [.. MountOptions],
        Linux = new LinuxFeatures
        {
            Namespaces = [.. Namespaces],
            Capabilities = [.. Tables.Capabilities],
            Cgroup = new CgroupFeatures { V1 = CgroupV1, V2 = CgroupV2, Systemd = false, SystemdUser = false, Rdma = false },
            Seccomp = new SeccompFeatures
            {
                Enabled = SeccompEnforced,
                Actions = [.. Runcs.Seccomp.SeccompCompiler.SupportedActions],
                Operators = [.. Runcs.Seccomp.SeccompCompiler.SupportedOperators],
                Archs = [.. Runcs.Seccomp.SeccompCompiler.SupportedArchitectures],
                KnownFlags = [.. Runcs.Seccomp.SeccompCompiler.SupportedFlags],
                SupportedFlags = [.. Runcs.Seccomp.SeccompCompiler.SupportedFlags.Where(KernelHasSeccompFlag)],
            },
            Apparmor = new EnabledFeature { Enabled = false },
            Selinux = new EnabledFeature { Enabled = false },
            IntelRdt = new EnabledFeature { Enabled = false },
            MountExtensions = new MountExtensions { Idmap = new EnabledFeature { Enabled = true } },
            NetDevices = new EnabledFeature { Enabled = false },
        },
        Annotations = new Dictionary<string, string>
        {
            ["io.github.runcs.version"] = Cli.CommandLine.Version,
            ["io.github.runcs.commit"] = Cli.CommandLine.Commit,
        },
    };
}
