namespace Runcs.Seccomp.Tests;

/// <summary>A deliberately plain evaluator of a profile's meaning (no BPF): what the filter must
/// answer for one seccomp_data on an x86_64 host. Semantics as runc + libseccomp define them where
/// libseccomp is sound: runc's flattening (rules equal to the default dropped; repeated argument
/// indices split into one rule per condition), the first unconditional rule of a syscall wins,
/// otherwise conditional rules are ORed, 32-bit arches compare the low words only, socketcall/ipc
/// multiplexing, x32 via the 0x40000000 bit, foreign arches get KILL_THREAD, and runc's ENOSYS stub.</summary>
internal static class Reference
{
    public static uint Evaluate(SeccompProfile p, SeccompData d, bool enosysStub)
    {
        var def = SeccompCompiler.ParseAction(p.DefaultAction, p.DefaultErrnoRet, "d");
        var native = ArchInfo.Get(SeccompArch.X86_64);
        var listed = new List<ArchInfo>();
        foreach (var name in p.Architectures ?? [])
        {
            ArchInfo.TryParse(name, out var a);
            var info = ArchInfo.Get(a);
            if (info.LittleEndian) listed.Add(info);
        }
        var nr = (uint)d.Nr;
        var hasX32 = listed.Any(a => a.Arch == SeccompArch.X32);
        // which arch's syscall table the number is read in (x86_64 and x32 share the audit arch;
        // an x32 call has bit 30 set)
        var arch = d.Arch == AuditArch.X86_64
            ? ((nr & AuditArch.X32SyscallBit) != 0 ? ArchInfo.Get(SeccompArch.X32) : native)
            : listed.FirstOrDefault(a => a.AuditArch == d.Arch);
        if (arch is null) return SeccompRet.KillThread;

        // runc's stub (listed arches only) comes before libseccomp's x32 filtering
        var permissive = def == SeccompRet.Allow || def == SeccompRet.Log || (def & SeccompRet.ActionFullMask) == SeccompRet.Trace || def == (SeccompRet.Errno | 38);
        if (enosysStub && !permissive && listed.Contains(arch))
        {
            var max = -1;
            foreach (var sc in p.Syscalls ?? [])
                foreach (var n in sc.Names)
                    if (SyscallTable.Resolve(arch.Arch, n) is { } x && MuxOf(arch, n) is null) max = Math.Max(max, x);
            if (max > 0)
            {
                if (arch.Arch is SeccompArch.S390 or SeccompArch.S390x && nr == 0) return SeccompRet.Errno | 38;
                if (nr > (uint)max) return SeccompRet.Errno | 38;
            }
        }
        if (d.Arch == AuditArch.X86_64)
        {
            // libseccomp: without x32 in the filter, x86_64 numbers >= 0x40000000 (but -1) are a bad arch
            if (!hasX32 && nr >= AuditArch.X32SyscallBit && nr != uint.MaxValue) return SeccompRet.KillThread;
            if (!hasX32) arch = native;
        }

        // every (rule, target) for this syscall number, in profile order
        uint? unconditional = null, conditional = null;
        foreach (var sc in p.Syscalls ?? [])
        {
            var act = SeccompCompiler.ParseAction(sc.Action, sc.ErrnoRet, "a");
            if (act == def) continue;
            var args = sc.Args ?? [];
            var split = args.GroupBy(a => a.Index).Any(g => g.Count() > 1);
            List<List<SeccompArg>> rules = args.Count == 0 ? [[]] : split ? args.Select(a => new List<SeccompArg> { a }).ToList() : [args];
            foreach (var n in sc.Names)
                foreach (var rule in rules)
                {
                    if (SyscallTable.Resolve(arch.Arch, n) is { } direct && (uint)direct == nr)
                    {
                        if (rule.Count == 0) unconditional ??= act;
                        else if (rule.All(c => Holds(c, d, arch))) conditional ??= act;
                    }
                    // multiplexed form: socketcall/ipc with the sub-call number in arg 0
                    if (MuxOf(arch, n) is { } m && m.Nr == nr)
                    {
                        var a0 = arch.Is64Bit ? d.Args[0] : (uint)d.Args[0];
                        if (a0 == m.Sub && rule.Where(c => c.Index != 0).All(c => Holds(c, d, arch))) conditional ??= act;
                    }
                }
        }
        return unconditional ?? conditional ?? def;
    }

    private static (uint Nr, ulong Sub)? MuxOf(ArchInfo a, string name)
    {
        var idx = SyscallTables.IndexOf(name);
        if (idx < 0 || !a.Multiplexes) return null;
        var code = SyscallTables.MuxCode(a.Arch, idx);
        if (code == 0) return null;
        var muxName = code >= 200 ? "ipc" : "socketcall";
        return ((uint)SyscallTable.Resolve(a.Arch, muxName)!.Value, (ulong)(code % 100));
    }

    public static bool Holds(SeccompArg c, SeccompData d, ArchInfo arch)
    {
        ulong v = d.Args[(int)c.Index], a = c.Value, b = c.ValueTwo;
        if (!arch.Is64Bit) { v = (uint)v; a = (uint)a; b = (uint)b; }
        return c.Op switch
        {
            "SCMP_CMP_NE" => v != a,
            "SCMP_CMP_LT" => v < a,
            "SCMP_CMP_LE" => v <= a,
            "SCMP_CMP_EQ" => v == a,
            "SCMP_CMP_GE" => v >= a,
            "SCMP_CMP_GT" => v > a,
            "SCMP_CMP_MASKED_EQ" => (v & a) == (b & a),
            _ => throw new ArgumentException(c.Op),
        };
    }
}
