namespace Runcs.Seccomp;

/// <summary>Architectures a seccomp profile can name (OCI <c>SCMP_ARCH_*</c>).</summary>
public enum SeccompArch
{
    X86_64, X86, X32, Arm, Aarch64, Riscv64, Ppc64le, Ppc64, Ppc, S390x, S390,
    Mips, Mipsel, Mips64, Mipsel64, Mips64N32, Mipsel64N32, Loongarch64, Parisc, Parisc64,
}

/// <summary>Static facts about one architecture.</summary>
public sealed class ArchInfo
{
    public SeccompArch Arch { get; }
    public string SpecName { get; }
    public uint AuditArch { get; }
    public bool Is64Bit { get; }
    public bool LittleEndian => (AuditArch & Runcs.Seccomp.AuditArch.LittleEndianBit) != 0;
    /// <summary>True when the syscall table is available (false only for PA-RISC).</summary>
    public bool HasTable { get; }
    internal int SocketcallNr { get; }
    internal int IpcNr { get; }
    internal bool Multiplexes => SocketcallNr >= 0;

    private ArchInfo(SeccompArch arch, string spec, uint audit, bool is64, bool table)
    {
        Arch = arch; SpecName = spec; AuditArch = audit; Is64Bit = is64; HasTable = table;
        SocketcallNr = -1; IpcNr = -1;
        if (table && !SyscallTables.Mux(arch).IsEmpty)
        {
            SocketcallNr = SyscallTables.Number(arch, "socketcall");
            IpcNr = SyscallTables.Number(arch, "ipc");
        }
    }

    public static IReadOnlyList<ArchInfo> All { get; } =
    [
        new(SeccompArch.X86_64, "SCMP_ARCH_X86_64", Runcs.Seccomp.AuditArch.X86_64, true, true),
        new(SeccompArch.X86, "SCMP_ARCH_X86", Runcs.Seccomp.AuditArch.I386, false, true),
        new(SeccompArch.X32, "SCMP_ARCH_X32", Runcs.Seccomp.AuditArch.X86_64, false, true),
        new(SeccompArch.Arm, "SCMP_ARCH_ARM", Runcs.Seccomp.AuditArch.Arm, false, true),
        new(SeccompArch.Aarch64, "SCMP_ARCH_AARCH64", Runcs.Seccomp.AuditArch.Aarch64, true, true),
        new(SeccompArch.Riscv64, "SCMP_ARCH_RISCV64", Runcs.Seccomp.AuditArch.Riscv64, true, true),
        new(SeccompArch.Ppc64le, "SCMP_ARCH_PPC64LE", Runcs.Seccomp.AuditArch.Ppc64le, true, true),
        new(SeccompArch.Ppc64, "SCMP_ARCH_PPC64", Runcs.Seccomp.AuditArch.Ppc64, true, true),
        new(SeccompArch.Ppc, "SCMP_ARCH_PPC", Runcs.Seccomp.AuditArch.Ppc, false, true),
        new(SeccompArch.S390x, "SCMP_ARCH_S390X", Runcs.Seccomp.AuditArch.S390x, true, true),
        new(SeccompArch.S390, "SCMP_ARCH_S390", Runcs.Seccomp.AuditArch.S390, false, true),
        new(SeccompArch.Mips, "SCMP_ARCH_MIPS", Runcs.Seccomp.AuditArch.Mips, false, true),
        new(SeccompArch.Mipsel, "SCMP_ARCH_MIPSEL", Runcs.Seccomp.AuditArch.Mipsel, false, true),
        new(SeccompArch.Mips64, "SCMP_ARCH_MIPS64", Runcs.Seccomp.AuditArch.Mips64, true, true),
        new(SeccompArch.Mipsel64, "SCMP_ARCH_MIPSEL64", Runcs.Seccomp.AuditArch.Mipsel64, true, true),
        new(SeccompArch.Mips64N32, "SCMP_ARCH_MIPS64N32", Runcs.Seccomp.AuditArch.Mips64N32, false, true),
        new(SeccompArch.Mipsel64N32, "SCMP_ARCH_MIPSEL64N32", Runcs.Seccomp.AuditArch.Mipsel64N32, false, true),
        new(SeccompArch.Loongarch64, "SCMP_ARCH_LOONGARCH64", Runcs.Seccomp.AuditArch.Loongarch64, true, true),
        new(SeccompArch.Parisc, "SCMP_ARCH_PARISC", Runcs.Seccomp.AuditArch.Parisc, false, false),
        new(SeccompArch.Parisc64, "SCMP_ARCH_PARISC64", Runcs.Seccomp.AuditArch.Parisc64, true, false),
    ];

    public static ArchInfo Get(SeccompArch arch) => All[(int)arch];

    public static bool TryParse(string specName, out SeccompArch arch)
    {
        foreach (var a in All)
            if (a.SpecName == specName) { arch = a.Arch; return true; }
        arch = default;
        return false;
    }

    /// <summary>The architecture this process runs on.</summary>
    public static SeccompArch Native => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => SeccompArch.X86_64,
        System.Runtime.InteropServices.Architecture.X86 => SeccompArch.X86,
        System.Runtime.InteropServices.Architecture.Arm => SeccompArch.Arm,
        System.Runtime.InteropServices.Architecture.Arm64 => SeccompArch.Aarch64,
        System.Runtime.InteropServices.Architecture.RiscV64 => SeccompArch.Riscv64,
        System.Runtime.InteropServices.Architecture.Ppc64le => SeccompArch.Ppc64le,
        System.Runtime.InteropServices.Architecture.S390x => SeccompArch.S390x,
        System.Runtime.InteropServices.Architecture.LoongArch64 => SeccompArch.Loongarch64,
        var other => throw new SeccompException($"seccomp: unsupported native architecture {other}"),
    };
}

/// <summary>Name lookups in the generated tables.</summary>
internal static partial class SyscallTables
{
    private static Dictionary<string, int>? _index;
    private static Dictionary<string, int> Index => _index ??= BuildIndex();

    private static Dictionary<string, int> BuildIndex()
    {
        var d = new Dictionary<string, int>(Names.Length, StringComparer.Ordinal);
        for (var i = 0; i < Names.Length; i++) d[Names[i]] = i;
        return d;
    }

    internal static bool IsKnown(string name) => Index.ContainsKey(name);

    internal static int IndexOf(string name) => Index.TryGetValue(name, out var i) ? i : -1;

    internal static ReadOnlySpan<int> Table(SeccompArch arch) => arch switch
    {
        SeccompArch.X86_64 => X86_64, SeccompArch.X86 => X86, SeccompArch.X32 => X32, SeccompArch.Arm => Arm,
        SeccompArch.Aarch64 => Aarch64, SeccompArch.Riscv64 => Riscv64, SeccompArch.Ppc64le => Ppc64le,
        SeccompArch.Ppc64 => Ppc64, SeccompArch.Ppc => Ppc, SeccompArch.S390x => S390x, SeccompArch.S390 => S390,
        SeccompArch.Mips => Mips, SeccompArch.Mipsel => Mipsel, SeccompArch.Mips64 => Mips64,
        SeccompArch.Mipsel64 => Mipsel64, SeccompArch.Mips64N32 => Mips64n32, SeccompArch.Mipsel64N32 => Mipsel64n32,
        SeccompArch.Loongarch64 => Loongarch64,
        _ => default,
    };

    internal static ReadOnlySpan<short> Mux(SeccompArch arch) => arch switch
    {
        SeccompArch.X86 => X86Mux, SeccompArch.Ppc64le => Ppc64leMux, SeccompArch.Ppc64 => Ppc64Mux,
        SeccompArch.Ppc => PpcMux, SeccompArch.S390x => S390xMux, SeccompArch.S390 => S390Mux,
        SeccompArch.Mips => MipsMux, SeccompArch.Mipsel => MipselMux,
        _ => default,
    };

    /// <summary>Syscall number of <paramref name="name"/> on <paramref name="arch"/>, or -1.</summary>
    public static int Number(SeccompArch arch, string name)
    {
        var i = IndexOf(name);
        var t = Table(arch);
        return i < 0 || t.IsEmpty ? -1 : t[i];
    }

    /// <summary>socketcall/ipc multiplex code of a name on an arch: 100+k, 200+k or 0.</summary>
    internal static int MuxCode(SeccompArch arch, int index)
    {
        var m = Mux(arch);
        return m.IsEmpty ? 0 : m[index];
    }
}

/// <summary>Public syscall-table queries.</summary>
public static class SyscallTable
{
    /// <summary>All syscall names known (libseccomp 2.5.4's list).</summary>
    public static IReadOnlyList<string> Names => SyscallTables.Names;

    /// <summary>The number of <paramref name="name"/> on <paramref name="arch"/> (x32 numbers include
    /// 0x40000000), or null when the arch lacks it (socketcall/ipc-multiplexed names give their direct
    /// number when the arch has one).</summary>
    public static int? Resolve(SeccompArch arch, string name)
    {
        var n = SyscallTables.Number(arch, name);
        return n < 0 ? null : n;
    }

    /// <summary>Reverse lookup: the name of <paramref name="nr"/> on <paramref name="arch"/>.</summary>
    public static string? NameOf(SeccompArch arch, int nr)
    {
        var t = SyscallTables.Table(arch);
        for (var i = 0; i < t.Length; i++) if (t[i] == nr) return SyscallTables.Names[i];
        return null;
    }
}
