namespace Runcs.Seccomp;

/// <summary>Options for <see cref="SeccompCompiler.Compile(SeccompProfile, SeccompArch, SeccompCompileOptions?)"/>.</summary>
public sealed class SeccompCompileOptions
{
    /// <summary>Add runc's -ENOSYS behaviour (libcontainer/seccomp/patchbpf): for every listed
    /// architecture, syscall numbers above the largest one the profile names return
    /// <c>SCMP_ACT_ERRNO(ENOSYS)</c> instead of the default action, unless the default action is
    /// ALLOW, LOG, TRACE or ERRNO(ENOSYS). On by default, as in runc.</summary>
    public bool EnosysForNewerSyscalls { get; init; } = true;

    /// <summary>Action for a foreign architecture (libseccomp's default, kept by runc: KILL_THREAD).</summary>
    public uint BadArchAction { get; init; } = SeccompRet.KillThread;
}

/// <summary>Compile statistics.</summary>
public sealed class SeccompStats
{
    public int Length { get; init; }
    public int RuleCount { get; init; }
    public int SkippedUnknownNames { get; init; }
    public IReadOnlyList<string> IgnoredArchitectures { get; init; } = [];
    public IReadOnlyList<ArchSectionStats> Sections { get; init; } = [];
}

/// <summary>Per audit-arch section: which arches it serves, its size, and the shortest/longest
/// number of instructions a syscall of that arch executes (arch check included).</summary>
public sealed record ArchSectionStats(string Arches, uint AuditArch, int Syscalls, int MinPath, int MaxPath);

/// <summary>Output of the compiler.</summary>
public sealed class SeccompProgram
{
    public required SockFilter[] Instructions { get; init; }
    /// <summary>SECCOMP_FILTER_FLAG_* bits to pass to seccomp(SECCOMP_SET_MODE_FILTER, ...).</summary>
    public required uint Flags { get; init; }
    /// <summary>True when a rule uses SCMP_ACT_NOTIFY: <see cref="Flags"/> then includes NEW_LISTENER
    /// and seccomp(2) returns the listener fd.</summary>
    public required bool NeedsListener { get; init; }
    public required uint DefaultAction { get; init; }
    public required IReadOnlyList<SeccompArch> Architectures { get; init; }
    public required SeccompStats Stats { get; init; }
}

/// <summary>Compiles an OCI <c>linux.seccomp</c> profile to classic BPF with runc's semantics
/// (runc's use of libseccomp: same decision for every input).</summary>
public static class SeccompCompiler
{
    public static IReadOnlyList<string> SupportedActions { get; } =
    [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    ];

    public static IReadOnlyList<string> SupportedOperators { get; } =
    [
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
    ];

    public static IReadOnlyList<string> SupportedArchitectures { get; } = ArchInfo.All.Select(a => a.SpecName).ToArray();

    public static IReadOnlyList<string> SupportedFlags { get; } =
    [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];

    public const int Enosys = 38;
    private const int Eperm = 1;

    internal enum Op { NE = 1, LT, LE, EQ, GE, GT, MaskedEq }

    internal readonly record struct Cond(int Arg, Op Op, ulong Value, ulong ValueTwo);

    internal sealed record Rule(Cond[] Conds, uint Action);

    /// <summary>A syscall's rules on one arch after runc's flattening.</summary>
    internal sealed class Entry
    {
        public uint? Unconditional;
        private List<Rule>? _rules; // most syscalls only have an unconditional action
        public List<Rule> Rules => _rules ??= new List<Rule>(2);
        public bool HasRules => _rules is { Count: > 0 };
        public bool Is64;
        public bool LittleEndian;
    }

    public static SeccompProgram Compile(SeccompProfile profile, SeccompCompileOptions? options = null) =>
        Compile(profile, ArchInfo.Native, options);

    public static SeccompProgram Compile(SeccompProfile profile, SeccompArch native, SeccompCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new SeccompCompileOptions();
        var nativeInfo = ArchInfo.Get(native);
        if (!nativeInfo.HasTable) throw new SeccompException($"seccomp: native architecture {nativeInfo.SpecName} is not supported");

        var defaultAction = ParseAction(profile.DefaultAction, profile.DefaultErrnoRet, new FieldName(-1), "linux.seccomp.defaultAction");
        if (defaultAction == SeccompRet.UserNotif)
            throw new SeccompException("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");

        // Flags (runc >= 1.2 / crun: an absent list means SPEC_ALLOW).
        uint flags = 0;
        if (profile.Flags is null) flags = SeccompFilterFlags.SpecAllow;
        else
            for (var i = 0; i < profile.Flags.Count; i++)
                flags |= profile.Flags[i] switch
                {
                    "SECCOMP_FILTER_FLAG_TSYNC" => SeccompFilterFlags.Tsync,
                    "SECCOMP_FILTER_FLAG_LOG" => SeccompFilterFlags.Log,
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => SeccompFilterFlags.SpecAllow,
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => SeccompFilterFlags.WaitKillableRecv,
                    var f => throw new SeccompException($"linux.seccomp.flags[{i}]: unknown seccomp flag \"{f}\""),
                };

        // Architectures: native plus the listed ones. Arches of the other byte order can never be
        // reported by this kernel (libseccomp refuses to mix them); they are skipped.
        var arches = new List<ArchInfo> { nativeInfo };
        var listed = new List<ArchInfo>();
        var ignored = new List<string>();
        if (profile.Architectures is { } al)
            for (var i = 0; i < al.Count; i++)
            {
                if (!ArchInfo.TryParse(al[i], out var a))
                    throw new SeccompException($"linux.seccomp.architectures[{i}]: unknown architecture \"{al[i]}\"");
                var info = ArchInfo.Get(a);
                if (info.LittleEndian != nativeInfo.LittleEndian) { if (!ignored.Contains(info.SpecName)) ignored.Add(info.SpecName); continue; }
                if (!info.HasTable) throw new SeccompException($"linux.seccomp.architectures[{i}]: architecture \"{al[i]}\" is not supported");
                if (!listed.Contains(info)) listed.Add(info);
                if (!arches.Contains(info)) arches.Add(info);
            }

        // Flatten the rules the way runc's specconv + matchCall do.
        var notify = false;
        var nameCount = 0;
        if (profile.Syscalls is { } all) foreach (var sc in all) nameCount += sc?.Names?.Count ?? 0;
        var flat = new List<(int NameIndex, string Name, uint Action, Cond[][] Rules)>(nameCount);
        var skipped = 0;
        var syscalls = profile.Syscalls ?? [];
        for (var s = 0; s < syscalls.Count; s++)
        {
            var sc = syscalls[s] ?? throw new SeccompException($"linux.seccomp.syscalls[{s}]: null entry");
            var field = new FieldName(s);
            var action = ParseAction(sc.Action, sc.ErrnoRet, field, ".action");
            var conds = new Cond[sc.Args?.Count ?? 0];
            var perArg = new int[6];
            for (var i = 0; i < conds.Length; i++)
            {
                var a = sc.Args![i] ?? throw new SeccompException($"{field}.args[{i}]: null entry");
                if (a.Index > 5) throw new SeccompException($"{field}.args[{i}].index: {a.Index} is out of range (0-5)");
                var op = a.Op switch
                {
                    "SCMP_CMP_NE" => Op.NE, "SCMP_CMP_LT" => Op.LT, "SCMP_CMP_LE" => Op.LE, "SCMP_CMP_EQ" => Op.EQ,
                    "SCMP_CMP_GE" => Op.GE, "SCMP_CMP_GT" => Op.GT, "SCMP_CMP_MASKED_EQ" => Op.MaskedEq,
                    _ => throw new SeccompException($"{field}.args[{i}].op: unknown operator \"{a.Op}\""),
                };
                conds[i] = new Cond((int)a.Index, op, a.Value, a.ValueTwo);
                perArg[a.Index]++;
            }
            // runc: when an argument index repeats, each condition becomes its own rule (OR).
            var repeated = false;
            for (var i = 0; i < perArg.Length; i++) repeated |= perArg[i] > 1;
            Cond[][] rules;
            if (repeated)
            {
                rules = new Cond[conds.Length][];
                for (var i = 0; i < conds.Length; i++) rules[i] = [conds[i]];
            }
            else rules = [conds];
            if (sc.Names is null || sc.Names.Count == 0) throw new SeccompException($"{field}.names: at least one syscall name is required");
            for (var n = 0; n < sc.Names.Count; n++)
            {
                var name = sc.Names[n];
                if (string.IsNullOrEmpty(name)) throw new SeccompException($"{field}.names[{n}]: empty syscall name");
                if (action == SeccompRet.UserNotif)
                {
                    notify = true;
                    if (name == "write") throw new SeccompException($"{field}.names[{n}]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
                }
                var idx = SyscallTables.IndexOf(name);
                if (idx < 0) { skipped++; continue; }
                flat.Add((idx, name, action, rules));
            }
        }

        // Per-arch syscall entries, grouped by audit arch (x86_64 and x32 share one).
        var groups = new List<(uint Audit, List<ArchInfo> Members, Dictionary<uint, Entry> Entries)>();
        foreach (var a in arches)
        {
            var g = groups.FindIndex(x => x.Audit == a.AuditArch);
            if (g < 0) { groups.Add((a.AuditArch, new List<ArchInfo>(), new Dictionary<uint, Entry>(a.Arch == SeccompArch.X86_64 || a.Arch == SeccompArch.X32 ? 2 * flat.Count : flat.Count))); g = groups.Count - 1; }
            groups[g].Members.Add(a);
            var entries = groups[g].Entries;
            var table = SyscallTables.Table(a.Arch);
            foreach (var (idx, _, action, rules) in flat)
            {
                if (action == defaultAction) continue; // runc drops rules equal to the default
                var nr = table[idx];
                var mux = a.Multiplexes ? SyscallTables.MuxCode(a.Arch, idx) : 0;
                if (nr >= 0) foreach (var r in rules) AddRule(entries, a, (uint)nr, r, action);
                if (mux != 0)
                {
                    var muxNr = mux >= 200 ? a.IpcNr : a.SocketcallNr;
                    var sub = (ulong)(mux % 100);
                    foreach (var r in rules)
                    {
                        // libseccomp: the multiplexer rule keeps the other conditions and matches
                        // the sub-call number on argument 0.
                        var mc = r.Where(c => c.Arg != 0).Prepend(new Cond(0, Op.EQ, sub, 0)).ToArray();
                        AddRule(entries, a, (uint)muxNr, mc, action);
                    }
                }
            }
        }

        // runc's -ENOSYS stub: largest known syscall per listed arch.
        var stub = new Dictionary<SeccompArch, uint>();
        if (options.EnosysForNewerSyscalls && !IsPermissive(defaultAction) && defaultAction != (SeccompRet.Errno | Enosys))
            foreach (var a in listed)
            {
                var table = SyscallTables.Table(a.Arch);
                var mux = SyscallTables.Mux(a.Arch);
                long max = 0;
                foreach (var f in flat) // every known name of the profile, whatever its action
                {
                    var idx = f.NameIndex;
                    if (table[idx] < 0 || (a.Multiplexes && mux[idx] != 0)) continue;
                    max = Math.Max(max, table[idx]);
                }
                if (max != 0) stub[a.Arch] = (uint)max;
            }

        // Code generation.
        var asm = new Assembler();
        var badArch = asm.NewLabel("badarch");
        asm.Load(4);
        var sectionLabels = new Assembler.Label[groups.Count];
        for (var g = 0; g < groups.Count; g++) sectionLabels[g] = asm.NewLabel("arch");
        // native first: falls through into its section
        var otherArches = asm.NewLabel("other");
        asm.Jmp(Bpf.JEQ, groups[0].Audit, null, groups.Count > 1 ? otherArches : badArch);
        // layout: [native section] [other arch checks, bad-arch ret] [other sections]: jumps stay forward
        var ruleCount = EmitSection(asm, groups[0].Members, groups[0].Entries, defaultAction, options.BadArchAction, stub);
        if (groups.Count > 1)
        {
            asm.Mark(otherArches);
            for (var g = 1; g < groups.Count; g++)
                asm.Jmp(Bpf.JEQ, groups[g].Audit, sectionLabels[g], g == groups.Count - 1 ? badArch : null);
        }
        asm.Mark(badArch);
        asm.Ret(options.BadArchAction);
        for (var g = 1; g < groups.Count; g++)
        {
            asm.Mark(sectionLabels[g]);
            ruleCount += EmitSection(asm, groups[g].Members, groups[g].Entries, defaultAction, options.BadArchAction, stub);
        }
        var prog = asm.Build();
        if (prog.Length > Bpf.MaxInstructions)
            throw new SeccompException($"linux.seccomp: the profile compiles to {prog.Length} BPF instructions, more than the kernel's limit of {Bpf.MaxInstructions}");

        if (notify)
        {
            flags |= SeccompFilterFlags.NewListener;
            if ((flags & SeccompFilterFlags.Tsync) != 0) flags |= SeccompFilterFlags.TsyncEsrch; // kernel refuses TSYNC|NEW_LISTENER otherwise
        }
        else flags &= ~SeccompFilterFlags.WaitKillableRecv; // only valid with a listener

        var sections = new List<ArchSectionStats>();
        foreach (var (audit, members, entries) in groups)
        {
            var (min, max) = Disassembler.PathLengths(prog, audit);
            sections.Add(new ArchSectionStats(string.Join("+", members.Select(m => m.SpecName)), audit, entries.Count, min, max));
        }

        return new SeccompProgram
        {
            Instructions = prog,
            Flags = flags,
            NeedsListener = notify,
            DefaultAction = defaultAction,
            Architectures = arches.Select(a => a.Arch).ToArray(),
            Stats = new SeccompStats
            {
                Length = prog.Length, RuleCount = ruleCount, SkippedUnknownNames = skipped,
                IgnoredArchitectures = ignored, Sections = sections,
            },
        };
    }

    private static bool IsPermissive(uint action) =>
        action == SeccompRet.Allow || action == SeccompRet.Log || (action & SeccompRet.ActionFullMask) == SeccompRet.Trace;

    /// <summary>"linux.seccomp.syscalls[i]", built only when an error message needs it.</summary>
    private readonly struct FieldName(int index)
    {
        public bool IsSet => index >= 0;
        public override string ToString() => $"linux.seccomp.syscalls[{index}]";
    }

    internal static uint ParseAction(string? action, uint? errnoRet, string field) => ParseAction(action, errnoRet, new FieldName(-1), field);

    private static uint ParseAction(string? action, uint? errnoRet, FieldName at, string field) => action switch
    {
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => SeccompRet.KillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompRet.KillProcess,
        "SCMP_ACT_TRAP" => SeccompRet.Trap,
        "SCMP_ACT_ERRNO" => SeccompRet.Errno | ((errnoRet ?? Eperm) & SeccompRet.DataMask),
        "SCMP_ACT_TRACE" => SeccompRet.Trace | ((errnoRet ?? Eperm) & SeccompRet.DataMask),
        "SCMP_ACT_ALLOW" => SeccompRet.Allow,
        "SCMP_ACT_LOG" => SeccompRet.Log,
        "SCMP_ACT_NOTIFY" => SeccompRet.UserNotif,
        _ => throw new SeccompException($"{(at.IsSet ? at.ToString() : "")}{field}: unknown action \"{action}\""),
    };

    private static void AddRule(Dictionary<uint, Entry> entries, ArchInfo arch, uint nr, Cond[] conds, uint action)
    {
        if (!entries.TryGetValue(nr, out var e))
            entries[nr] = e = new Entry { Is64 = arch.Is64Bit, LittleEndian = arch.LittleEndian };
        // libseccomp (db_rule_add): the first unconditional rule for a syscall wins; an unconditional
        // rule replaces earlier conditional ones; conditional rules after it are dropped.
        // Podman's profile relies on this (setns is both allowed and denied).
        if (e.Unconditional is not null) return;
        if (conds.Length == 0)
        {
            e.Unconditional = action;
            if (e.HasRules) e.Rules.Clear();
        }
        else if (e.Unconditional is null)
        {
            if (!arch.Is64Bit) conds = conds.Select(c => c with { Value = (uint)c.Value, ValueTwo = (uint)c.ValueTwo }).ToArray();
            e.Rules.Add(new Rule(conds, action));
        }
    }

    // ----- per-arch section -----

    /// <summary>What a syscall number leads to: a return (Entry null) or a block of conditional rules.</summary>
    private readonly record struct Outcome(uint Action, Entry? Entry)
    {
        public bool IsAction => Entry is null;
    }
    private static Outcome ActionOutcome(uint action) => new(action, null);

    private static int EmitSection(Assembler asm, List<ArchInfo> members, Dictionary<uint, Entry> entries, uint defaultAction, uint badArch, Dictionary<SeccompArch, uint> stub)
    {
        var has64 = members.Any(m => m.Arch == SeccompArch.X86_64);
        var has32 = members.Any(m => m.Arch == SeccompArch.X32);
        var isX86Group = has64 || has32;
        uint? stubMain = null, stubX32 = null;
        var stubZero = false;
        foreach (var m in members)
            if (stub.TryGetValue(m.Arch, out var max))
            {
                if (m.Arch == SeccompArch.X32) stubX32 = max; else stubMain = max;
                if (m.Arch is SeccompArch.S390 or SeccompArch.S390x) stubZero = true;
            }
        const uint enosysAct = SeccompRet.Errno | Enosys;

        Outcome Eval(uint nr)
        {
            if (isX86Group && (nr & AuditArch.X32SyscallBit) != 0)
            {
                if (stubX32 is { } mx && nr > mx) return ActionOutcome(enosysAct);
            }
            else
            {
                if (stubZero && nr == 0) return ActionOutcome(enosysAct);
                if (stubMain is { } mm && nr > mm) return ActionOutcome(enosysAct);
            }
            if (entries.TryGetValue(nr, out var e))
                return e.Unconditional is { } u ? ActionOutcome(u) : new Outcome(0, e);
            if (has64 && !has32 && nr >= AuditArch.X32SyscallBit && nr != uint.MaxValue) return ActionOutcome(badArch);
            if (has32 && !has64 && nr < AuditArch.X32SyscallBit) return ActionOutcome(badArch);
            return ActionOutcome(defaultAction);
        }

        // segment boundaries: every number with rules and the one after it, plus fixed points
        var points = new List<ulong>(entries.Count * 2 + 8) { 0, 1, AuditArch.X32SyscallBit, 0x80000000, 0xC0000000, uint.MaxValue };
        foreach (var nr in entries.Keys) { points.Add(nr); points.Add((ulong)nr + 1); }
        if (stubMain is { } a1) points.Add((ulong)a1 + 1);
        if (stubX32 is { } a2) points.Add((ulong)a2 + 1);
        points.Sort();

        var segs = new List<(uint Start, Outcome Out)>(points.Count);
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (p > uint.MaxValue || (i > 0 && points[i - 1] == p)) continue;
            var o = Eval((uint)p);
            if (segs.Count > 0 && o.IsAction && segs[^1].Out == o) continue;
            segs.Add(((uint)p, o));
        }

        var rets = new Dictionary<uint, Assembler.Label>();
        Assembler.Label RetLabel(uint action)
        {
            if (!rets.TryGetValue(action, out var l)) rets[action] = l = asm.NewLabel("ret");
            return l;
        }

        var leaves = new List<(Assembler.Label Label, Entry Entry)>();
        Assembler.Label Target(int i)
        {
            if (segs[i].Out.IsAction) return RetLabel(segs[i].Out.Action);
            // syscalls with identical rule lists share one code block (few conditional syscalls: a scan)
            var entry = segs[i].Out.Entry!;
            foreach (var (label, other) in leaves)
                if (ReferenceEquals(other, entry) || SameRules(other, entry)) return label;
            var l = asm.NewLabel("leaf");
            leaves.Add((l, entry));
            return l;
        }

        // Search-tree weights: every segment counts 1; segments holding the syscalls a container makes
        // most often weigh more, so the weight-balanced split puts them near the root. read and write
        // weigh more than all the rest together: in a typical allow-list they share the first segment,
        // which the first comparison then settles.
        var weight = new long[segs.Count + 1]; // prefix sums
        {
            var w = new long[segs.Count];
            for (var i = 0; i < w.Length; i++) w[i] = 1;
            long n = segs.Count;
            foreach (var m in members)
            {
                if (m.Arch == SeccompArch.X32 && members.Count > 1) continue; // x32 processes are rare: favour x86_64's
                var table = SyscallTables.Table(m.Arch);
                for (var h = 0; h < HotSyscalls.Length; h++)
                {
                    var idx = SyscallTables.IndexOf(HotSyscalls[h]);
                    if (idx < 0 || table[idx] < 0) continue;
                    var seg = SegmentOf(segs, (uint)table[idx]);
                    w[seg] += h < 2 ? 16 * n : n;
                }
            }
            for (var i = 0; i < w.Length; i++) weight[i + 1] = weight[i] + w[i];
        }

        asm.Load(0);
        if (segs.Count == 1) asm.Ja(Target(0));
        else EmitTree(0, segs.Count);

        // Binary search over segment start numbers: jge splits, jeq picks out a lone number.
        void EmitTree(int lo, int hi)
        {
            var n = hi - lo;
            if (n == 1) { asm.Ja(Target(lo)); return; }
            if (n == 2) { asm.Jmp(Bpf.JGE, segs[lo + 1].Start, Target(lo + 1), Target(lo)); return; }
            if (n == 3 && segs[lo].Out == segs[lo + 2].Out && segs[lo + 2].Start == segs[lo + 1].Start + 1)
            {
                asm.Jmp(Bpf.JEQ, segs[lo + 1].Start, Target(lo + 1), Target(lo)); return;
            }
            // weight-balanced split: the boundary whose left weight is closest to half
            var mid = lo + 1;
            var half = (weight[lo] + weight[hi]) / 2.0;
            for (var m = lo + 2; m < hi; m++)
                if (Math.Abs(weight[m] - half) < Math.Abs(weight[mid] - half)) mid = m;
            // prefer a split that leaves a single segment where it is free
            var right = asm.NewLabel("r");
            if (hi - mid == 1) { asm.Jmp(Bpf.JGE, segs[mid].Start, Target(mid), null); EmitTree(lo, mid); return; }
            if (mid - lo == 1) { asm.Jmp(Bpf.JGE, segs[mid].Start, null, Target(lo)); EmitTree(mid, hi); return; }
            asm.Jmp(Bpf.JGE, segs[mid].Start, right, null);
            EmitTree(lo, mid);
            asm.Mark(right);
            EmitTree(mid, hi);
        }

        var rules = 0;
        // the section's shared returns sit right after the search tree (short jumps)
        foreach (var (action, label) in rets)
        {
            asm.Mark(label);
            asm.Ret(action);
        }
        // each conditional leaf keeps its own return instructions next to it: short jumps, no trampolines
        foreach (var (label, entry) in leaves)
        {
            asm.Mark(label);
            var local = new Dictionary<uint, Assembler.Label>();
            Assembler.Label LocalRet(uint action)
            {
                if (!local.TryGetValue(action, out var l)) local[action] = l = asm.NewLabel("lret");
                return l;
            }
            foreach (var rule in entry.Rules)
            {
                rules++;
                var next = asm.NewLabel("next");
                EmitRule(asm, entry, rule, LocalRet(rule.Action), next);
                asm.Mark(next);
            }
            if (local.Remove(defaultAction, out var dl)) asm.Mark(dl);
            asm.Ret(defaultAction);
            foreach (var (action, l) in local)
            {
                asm.Mark(l);
                asm.Ret(action);
            }
        }
        return rules;
    }

    private static bool SameRules(Entry a, Entry b)
    {
        if (a.Is64 != b.Is64 || a.LittleEndian != b.LittleEndian || a.Rules.Count != b.Rules.Count) return false;
        for (var r = 0; r < a.Rules.Count; r++)
        {
            Rule x = a.Rules[r], y = b.Rules[r];
            if (x.Action != y.Action || !x.Conds.AsSpan().SequenceEqual(y.Conds)) return false;
        }
        return true;
    }

    /// <summary>Syscalls favoured by the search tree (read and write first, then the next most frequent
    /// in container workloads).</summary>
    private static readonly string[] HotSyscalls =
        ["read", "write", "futex", "epoll_wait", "epoll_pwait", "openat", "close", "mmap", "newfstatat", "fstat"];

    private static int SegmentOf(List<(uint Start, Outcome Out)> segs, uint nr)
    {
        int lo = 0, hi = segs.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (segs[mid].Start <= nr) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    private static void EmitRule(Assembler asm, Entry e, Rule rule, Assembler.Label pass, Assembler.Label fail)
    {
        for (var i = 0; i < rule.Conds.Length; i++)
        {
            var last = i == rule.Conds.Length - 1;
            var ok = last ? pass : asm.NewLabel("ok");
            EmitCond(asm, e, rule.Conds[i], ok, fail);
            if (!last) asm.Mark(ok);
        }
    }

    private static void EmitCond(Assembler asm, Entry e, Cond c, Assembler.Label pass, Assembler.Label fail)
    {
        var baseOff = 16u + 8u * (uint)c.Arg;
        var loOff = e.LittleEndian ? baseOff : baseOff + 4;
        var hiOff = e.LittleEndian ? baseOff + 4 : baseOff;
        // MASKED_EQ: value is the mask, valueTwo the datum (runc -> libseccomp datum_a/datum_b).
        // libseccomp compares (arg & mask) == (datum & mask).
        var datum = c.Op == Op.MaskedEq ? c.ValueTwo & c.Value : c.Value;
        uint dlo = (uint)datum, dhi = (uint)(datum >> 32);
        uint mlo = (uint)c.Value, mhi = (uint)(c.Value >> 32);

        if (!e.Is64)
        {
            asm.Load(loOff);
            Half(asm, c.Op, dlo, mlo, pass, fail);
            return;
        }
        switch (c.Op)
        {
            case Op.EQ:
                asm.Load(hiOff); asm.Jmp(Bpf.JEQ, dhi, null, fail);
                asm.Load(loOff); asm.Jmp(Bpf.JEQ, dlo, pass, fail);
                return;
            case Op.NE:
                asm.Load(hiOff); asm.Jmp(Bpf.JEQ, dhi, null, pass);
                asm.Load(loOff); asm.Jmp(Bpf.JEQ, dlo, fail, pass);
                return;
            case Op.GT or Op.GE:
                asm.Load(hiOff);
                if (dhi != uint.MaxValue) asm.Jmp(Bpf.JGT, dhi, pass, null);
                asm.Jmp(Bpf.JEQ, dhi, null, fail);
                asm.Load(loOff);
                if (c.Op == Op.GE && dlo == 0) asm.Ja(pass);
                else asm.Jmp(c.Op == Op.GT ? Bpf.JGT : Bpf.JGE, dlo, pass, fail);
                return;
            case Op.LT or Op.LE:
                asm.Load(hiOff);
                if (dhi != uint.MaxValue) asm.Jmp(Bpf.JGT, dhi, fail, null);
                asm.Jmp(Bpf.JEQ, dhi, null, pass);
                asm.Load(loOff);
                if (c.Op == Op.LT && dlo == 0) asm.Ja(fail);
                else asm.Jmp(c.Op == Op.LT ? Bpf.JGE : Bpf.JGT, dlo, fail, pass);
                return;
            case Op.MaskedEq:
                if (mhi == 0) { if (dhi != 0) { asm.Ja(fail); return; } }
                else
                {
                    asm.Load(hiOff);
                    if (mhi != uint.MaxValue) asm.Stmt(Bpf.ALU | Bpf.AND | Bpf.K, mhi);
                    asm.Jmp(Bpf.JEQ, dhi, null, fail);
                }
                if (mlo == 0) { asm.Ja(dlo == 0 ? pass : fail); return; }
                asm.Load(loOff);
                Half(asm, Op.MaskedEq, dlo, mlo, pass, fail);
                return;
        }
    }

    /// <summary>One 32-bit comparison of A (already loaded).</summary>
    private static void Half(Assembler asm, Op op, uint d, uint m, Assembler.Label pass, Assembler.Label fail)
    {
        switch (op)
        {
            case Op.EQ: asm.Jmp(Bpf.JEQ, d, pass, fail); break;
            case Op.NE: asm.Jmp(Bpf.JEQ, d, fail, pass); break;
            case Op.GT: asm.Jmp(Bpf.JGT, d, pass, fail); break;
            case Op.GE: asm.Jmp(Bpf.JGE, d, pass, fail); break;
            case Op.LT: asm.Jmp(Bpf.JGE, d, fail, pass); break;
            case Op.LE: asm.Jmp(Bpf.JGT, d, fail, pass); break;
            case Op.MaskedEq:
                if (m == 0) { asm.Ja(d == 0 ? pass : fail); break; }
                if (m != uint.MaxValue) asm.Stmt(Bpf.ALU | Bpf.AND | Bpf.K, m);
                asm.Jmp(Bpf.JEQ, d, pass, fail);
                break;
        }
    }

}
