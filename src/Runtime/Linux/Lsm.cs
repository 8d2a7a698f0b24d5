namespace Runcs.Linux;

/// <summary>Linux security modules: whether AppArmor or SELinux is active on this host.</summary>
public static class Lsm
{
    public static bool AppArmorEnabled =>
        File.Exists("/sys/module/apparmor/parameters/enabled") && File.ReadAllText("/sys/module/apparmor/parameters/enabled").Trim() == "Y";

    public static bool SelinuxEnabled => File.Exists("/sys/fs/selinux/enforce");

    /// <summary>Refuses labels runcs cannot apply: a clear error instead of a container without its confinement.</summary>
    public static void CheckRequested(string? apparmorProfile, string? selinuxLabel, string where)
    {
        if (!string.IsNullOrEmpty(apparmorProfile))
            throw new ConfigException($"{where}/apparmorProfile", AppArmorEnabled
                ? $"AppArmor profile \"{apparmorProfile}\" requested, but runcs cannot apply AppArmor profiles yet"
                : $"AppArmor profile \"{apparmorProfile}\" requested, but AppArmor is not enabled on this host");
        if (!string.IsNullOrEmpty(selinuxLabel))
            throw new ConfigException($"{where}/selinuxLabel", SelinuxEnabled
                ? $"SELinux label \"{selinuxLabel}\" requested, but runcs cannot apply SELinux labels yet"
                : $"SELinux label \"{selinuxLabel}\" requested, but SELinux is not enabled on this host");
    }
}
