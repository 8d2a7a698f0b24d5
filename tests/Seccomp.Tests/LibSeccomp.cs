using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Runcs.Seccomp.Tests;

/// <summary>Builds a profile with the system's libseccomp the way runc does (seccomp_linux.go
/// InitSeccomp + matchCall, specconv flattening) and exports the BPF program.</summary>
internal static unsafe class LibSeccomp
{
    private const string Lib = "libseccomp.so.2";

    [StructLayout(LayoutKind.Sequential)]
    private struct ArgCmp { public uint Arg; public int Op; public ulong A; public ulong B; }

    [DllImport(Lib)] private static extern IntPtr seccomp_init(uint defAction);
    [DllImport(Lib)] private static extern void seccomp_release(IntPtr ctx);
    [DllImport(Lib)] private static extern int seccomp_arch_add(IntPtr ctx, uint token);
    [DllImport(Lib)] private static extern int seccomp_arch_remove(IntPtr ctx, uint token);
    [DllImport(Lib)] private static extern uint seccomp_arch_resolve_name(string name);
    [DllImport(Lib)] private static extern uint seccomp_arch_native();
    [DllImport(Lib)] private static extern int seccomp_attr_set(IntPtr ctx, int attr, uint value);
    [DllImport(Lib)] private static extern int seccomp_rule_add_array(IntPtr ctx, uint action, int syscall, uint count, ArgCmp* args);
    [DllImport(Lib)] private static extern int seccomp_export_bpf(IntPtr ctx, int fd);
    [DllImport(Lib)] private static extern int seccomp_syscall_resolve_name(string name);
    [DllImport(Lib)] private static extern int seccomp_syscall_resolve_name_arch(uint token, string name);
    [DllImport("libc", SetLastError = true)] private static extern int memfd_create(string name, uint flags);

    private const int AttrBadArch = 2, AttrOptimize = 8;

    public static string LibName(SeccompArch a) => a switch
    {
        SeccompArch.X86_64 => "x86_64", SeccompArch.X86 => "x86", SeccompArch.X32 => "x32", SeccompArch.Arm => "arm",
        SeccompArch.Aarch64 => "aarch64", SeccompArch.Riscv64 => "riscv64", SeccompArch.Ppc64le => "ppc64le",
        SeccompArch.Ppc64 => "ppc64", SeccompArch.Ppc => "ppc", SeccompArch.S390x => "s390x", SeccompArch.S390 => "s390",
        SeccompArch.Mips => "mips", SeccompArch.Mipsel => "mipsel", SeccompArch.Mips64 => "mips64",
        SeccompArch.Mipsel64 => "mipsel64", SeccompArch.Mips64N32 => "mips64n32", SeccompArch.Mipsel64N32 => "mipsel64n32",
        _ => throw new ArgumentException(a.ToString()),
    };

    public static uint Token(SeccompArch a) => seccomp_arch_resolve_name(LibName(a));

    /// <summary>libseccomp's number for a name on an arch (negative = pseudo / unknown).</summary>
    public static int Resolve(SeccompArch a, string name) => seccomp_syscall_resolve_name_arch(Token(a), name);

    public static bool Known(string name) => seccomp_syscall_resolve_name(name) != -1;

    /// <summary>Names whose native (x86_64) libseccomp number is a pseudo number shared with another
    /// name. libseccomp 2.5.4 gives sys_debug_setcontext and switch_endian both -10191, so a rule added
    /// by name through the native arch (as runc does) is translated to switch_endian (363) on
    /// ppc64le: the sys_debug_setcontext rule lands on the wrong syscall. runcs resolves each name per
    /// arch and filters 256 and 363 as the profile says, so these names cannot be compared.</summary>
    public static IReadOnlySet<string> AmbiguousPseudoNames { get; } = SyscallTable.Names
        .Select(n => (Name: n, Nr: seccomp_syscall_resolve_name(n)))
        .Where(x => x.Nr < 0)
        .GroupBy(x => x.Nr).Where(g => g.Count() > 1)
        .SelectMany(g => g.Select(x => x.Name)).ToHashSet();

    private static int OpCode(string op) => op switch
    {
        "SCMP_CMP_NE" => 1, "SCMP_CMP_LT" => 2, "SCMP_CMP_LE" => 3, "SCMP_CMP_EQ" => 4,
        "SCMP_CMP_GE" => 5, "SCMP_CMP_GT" => 6, "SCMP_CMP_MASKED_EQ" => 7, _ => throw new ArgumentException(op),
    };

    /// <summary>Returns the program, or throws InvalidOperationException when libseccomp (hence runc) refuses the profile.</summary>
    public static SockFilter[] Build(SeccompProfile p, int optimize)
    {
        var def = SeccompCompiler.ParseAction(p.DefaultAction, p.DefaultErrnoRet, "d");
        var ctx = seccomp_init(def);
        if (ctx == IntPtr.Zero) throw new InvalidOperationException("seccomp_init failed");
        try
        {
            foreach (var a in p.Architectures ?? [])
            {
                ArchInfo.TryParse(a, out var arch);
                var rc = seccomp_arch_add(ctx, Token(arch));
                if (rc != 0 && rc != -17) throw new InvalidOperationException($"arch_add {a}: {rc}");
            }
            var count = (p.Syscalls ?? []).Sum(s => s.Names.Count);
            if (optimize == 2 && count > 0) Check(seccomp_attr_set(ctx, AttrOptimize, 2), "optimize");
            foreach (var sc in p.Syscalls ?? [])
            {
                var act = SeccompCompiler.ParseAction(sc.Action, sc.ErrnoRet, "a");
                foreach (var name in sc.Names)
                {
                    if (act == def) continue;
                    var nr = seccomp_syscall_resolve_name(name);
                    if (nr == -1) continue;
                    var args = sc.Args ?? [];
                    var conds = args.Select(a => new ArgCmp { Arg = a.Index, Op = OpCode(a.Op), A = a.Value, B = a.ValueTwo }).ToArray();
                    if (conds.Length == 0) { Check(seccomp_rule_add_array(ctx, act, nr, 0, null), name); continue; }
                    var multi = args.GroupBy(a => a.Index).Any(g => g.Count() > 1);
                    if (multi)
                        foreach (var c in conds) { var one = c; Check(seccomp_rule_add_array(ctx, act, nr, 1, &one), name); }
                    else
                        fixed (ArgCmp* pc = conds) Check(seccomp_rule_add_array(ctx, act, nr, (uint)conds.Length, pc), name);
                }
            }
            var fd = memfd_create("bpf", 0);
            if (fd < 0) throw new InvalidOperationException("memfd_create");
            using var fs = new FileStream(new SafeFileHandle(fd, true), FileAccess.ReadWrite);
            Check(seccomp_export_bpf(ctx, fd), "export");
            fs.Seek(0, SeekOrigin.Begin);
            var ms = new MemoryStream();
            fs.CopyTo(ms);
            var bytes = ms.ToArray();
            var prog = new SockFilter[bytes.Length / 8];
            for (var i = 0; i < prog.Length; i++)
                prog[i] = new SockFilter(BitConverter.ToUInt16(bytes, i * 8), bytes[i * 8 + 2], bytes[i * 8 + 3], BitConverter.ToUInt32(bytes, i * 8 + 4));
            return prog;
        }
        finally { seccomp_release(ctx); }
    }

    /// <summary>Detects a defect of libseccomp 2.5.4's default (optimize=1) layout: an arch section
    /// whose syscall dispatch starts without reloading <c>seccomp_data.nr</c>, so the syscall-number
    /// comparisons run against the arch value still held in A (and every syscall of that arch gets the
    /// default action). Seen when a section's first rule block is shared with (merged into) another
    /// section's, e.g. <c>arches [MIPSEL64N32]</c> (+ native x86_64), <c>timer_create ALLOW if
    /// a1 MASKED_EQ ...</c>: the mipsel64n32 section is <c>jeq #0xe0000008; jeq #0x184c</c> with no
    /// <c>ld [0]</c> in between. The optimize=2 layout of the same rule database loads nr correctly.
    /// Returns the pc of the first comparison made on a stale arch value, or -1.
    /// Detection: after <c>ld [4]</c> and a taken <c>jeq #arch</c>, A's value is known; a further
    /// conditional jump before any other load/ALU op can only be a syscall-number comparison.</summary>
    public static int StaleArchCompare(ReadOnlySpan<SockFilter> prog)
    {
        // known[pc]: some path reaches pc with A = arch value already pinned by a taken jeq
        // armed[pc]: some path reaches pc with A = arch (loaded from [4]), not yet pinned
        var known = new bool[prog.Length + 1];
        var armed = new bool[prog.Length + 1];
        for (var pc = 0; pc < prog.Length; pc++)
        {
            var ins = prog[pc];
            var cls = ins.Code & 7;
            if (ins.Code == (Bpf.LD | Bpf.W | Bpf.ABS) && ins.K == 4) { armed[pc + 1] = true; continue; }
            if (!known[pc] && !armed[pc]) continue;
            if (cls == Bpf.JMP && ins.Code != (Bpf.JMP | Bpf.JA))
            {
                if (known[pc]) return pc;
                // armed: true branch of jeq pins the value; the false branch stays armed
                var t = pc + 1 + ins.Jt; var f = pc + 1 + ins.Jf;
                if ((ins.Code & 0xf0) == Bpf.JEQ) { known[t] = true; armed[f] = true; }
                else { armed[t] = true; armed[f] = true; }
            }
            else if (ins.Code == (Bpf.JMP | Bpf.JA)) { var t = pc + 1 + (int)ins.K; known[t] |= known[pc]; armed[t] |= armed[pc]; }
            else if (cls is Bpf.RET or Bpf.LD or Bpf.ALU || ins.Code == (Bpf.MISC | Bpf.TXA)) { }
            else { known[pc + 1] |= known[pc]; armed[pc + 1] |= armed[pc]; }
        }
        return -1;
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"libseccomp refused {what}: {rc}");
    }

    /// <summary>runc's -ENOSYS stub (patchbpf/enosys_linux.go) as a model over libseccomp's own
    /// resolver: returns ERRNO(ENOSYS) when the stub would answer, null when the libseccomp program decides.</summary>
    public static uint? RuncStub(SeccompProfile p, in SeccompData d)
    {
        var def = SeccompCompiler.ParseAction(p.DefaultAction, p.DefaultErrnoRet, "d");
        if (def == SeccompRet.Allow || def == SeccompRet.Log || (def & 0xffff0000) == SeccompRet.Trace || def == (SeccompRet.Errno | 38)) return null;
        var nr = (uint)d.Nr;
        foreach (var an in p.Architectures ?? [])
        {
            ArchInfo.TryParse(an, out var arch);
            var info = ArchInfo.Get(arch);
            if (info.AuditArch != d.Arch) continue;
            if (arch == SeccompArch.X86_64 && (nr & 0x40000000) != 0) continue;
            if (arch == SeccompArch.X32 && (nr & 0x40000000) == 0) continue;
            var max = 0;
            foreach (var sc in p.Syscalls ?? [])
                foreach (var name in sc.Names)
                    max = Math.Max(max, Resolve(arch, name));
            if (max == 0) continue;
            if (arch is SeccompArch.S390 or SeccompArch.S390x && nr == 0) return SeccompRet.Errno | 38;
            if (nr > (uint)max) return SeccompRet.Errno | 38;
        }
        return null;
    }
}
