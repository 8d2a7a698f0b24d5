namespace Runcs.Linux;

/// <summary>Kernel name tables (x86_64 values; generic across Linux arches unless noted).</summary>
public static class Tables
{
    /// <summary>Capability names in kernel order (number = index), as of Linux 6.x.</summary>
    public static readonly string[] Capabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];

    public static int CapabilityNumber(string name)
    {
        for (int i = 0; i < Capabilities.Length; i++) if (Capabilities[i] == name) return i;
        return -1;
    }

    /// <summary>
    /// The capability bit mask of a list of names; names the running kernel does not know (or
    /// unknown names) are left out and added to <paramref name="skipped"/> when given.
    /// </summary>
    public static ulong CapabilityMask(List<string>? caps, List<string>? skipped = null)
    {
        ulong m = 0;
        if (caps is null) return 0;
        int last = LastCap;
        foreach (var c in caps)
        {
            int n = CapabilityNumber(c);
            if (n < 0 || n > last) { skipped?.Add(c); continue; }
            m |= 1UL << n;
        }
        return m;
    }

    /// <summary>The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).</summary>
    public static int LastCap
    {
        get
        {
            if (_lastCap >= 0) return _lastCap;
            try { _lastCap = int.Parse(SmallFile.ReadText("/proc/sys/kernel/cap_last_cap").Trim(), System.Globalization.CultureInfo.InvariantCulture); }
            catch (Exception e) when (e is IOException or FormatException) { _lastCap = Capabilities.Length - 1; }
            return _lastCap;
        }
    }
    private static int _lastCap = -1;

    /// <summary>RLIMIT_* resource numbers.</summary>
    public static readonly (string Name, int Resource)[] Rlimits =
    [
        ("RLIMIT_CPU", 0), ("RLIMIT_FSIZE", 1), ("RLIMIT_DATA", 2), ("RLIMIT_STACK", 3), ("RLIMIT_CORE", 4),
        ("RLIMIT_RSS", 5), ("RLIMIT_NPROC", 6), ("RLIMIT_NOFILE", 7), ("RLIMIT_MEMLOCK", 8), ("RLIMIT_AS", 9),
        ("RLIMIT_LOCKS", 10), ("RLIMIT_SIGPENDING", 11), ("RLIMIT_MSGQUEUE", 12), ("RLIMIT_NICE", 13),
        ("RLIMIT_RTPRIO", 14), ("RLIMIT_RTTIME", 15),
    ];

    public static int RlimitNumber(string name)
    {
        foreach (var (n, r) in Rlimits) if (n == name) return r;
        return -1;
    }

    /// <summary>Namespace types of the spec and their clone flag and /proc/self/ns file name.</summary>
    public static readonly (string Type, int CloneFlag, string ProcName)[] Namespaces =
    [
        ("user", 0x10000000, "user"), ("mount", 0x00020000, "mnt"), ("pid", 0x20000000, "pid"),
        ("network", 0x40000000, "net"), ("ipc", 0x08000000, "ipc"), ("uts", 0x04000000, "uts"),
        ("cgroup", 0x02000000, "cgroup"), ("time", 0x00000080, "time"),
    ];

    public static int NamespaceIndex(string type)
    {
        for (int i = 0; i < Namespaces.Length; i++) if (Namespaces[i].Type == type) return i;
        return -1;
    }

    /// <summary>Signal names (without SIG) by number, x86_64.</summary>
    public static readonly string?[] Signals =
    [
        null, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
        "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];

    /// <summary>Parses a signal as runc does: a number, a name, or a name with SIG (any case).</summary>
    public static int ParseSignal(string s)
    {
        if (int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
        {
            if (n >= 1 && n <= 64) return n;
            throw new RuncsException($"unknown signal \"{s}\"");
        }
        var name = s.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        for (int i = 1; i < Signals.Length; i++) if (Signals[i] == name) return i;
        if (name == "IOT") return 6;
        if (name == "POLL") return 29;
        if (name.StartsWith("RTMIN", StringComparison.Ordinal) || name.StartsWith("RTMAX", StringComparison.Ordinal))
        {
            int baseN = name.StartsWith("RTMIN", StringComparison.Ordinal) ? 34 : 64;
            var rest = name[5..];
            if (rest.Length == 0) return baseN;
            if (int.TryParse(rest, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int off))
            {
                int v = baseN + off;
                if (v >= 34 && v <= 64) return v;
            }
        }
        throw new RuncsException($"unknown signal \"{s}\"");
    }
}
