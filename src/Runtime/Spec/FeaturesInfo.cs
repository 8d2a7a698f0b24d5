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

    /// <summary>Mount options the rootfs builder carries out (idmap, ridmap and tmpcopyup are refused, so not listed).</summary>
    public static string[] MountOptions => [.. Init.MountOptions.Known.Where(o => o is not ("idmap" or "ridmap"))];

    public static bool SeccompEnforced => false;
    public static bool CgroupV1 => true;
    public static bool CgroupV2 => true;

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
            Seccomp = new SeccompFeatures { Enabled = SeccompEnforced },
            Apparmor = new EnabledFeature { Enabled = false },
            Selinux = new EnabledFeature { Enabled = false },
            IntelRdt = new EnabledFeature { Enabled = false },
            MountExtensions = new MountExtensions { Idmap = new EnabledFeature { Enabled = false } },
            NetDevices = new EnabledFeature { Enabled = false },
        },
        Annotations = new Dictionary<string, string>
        {
            ["io.github.runcs.version"] = Cli.CommandLine.Version,
            ["io.github.runcs.commit"] = Cli.CommandLine.Commit,
        },
    };
}
