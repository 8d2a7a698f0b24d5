using System.Globalization;
using System.Text;

namespace Runcs.Seccomp;

/// <summary>Text form of programs and static path statistics.</summary>
public static class Disassembler
{
    public static string Format(SockFilter i)
    {
        var k = i.K;
        return i.Code switch
        {
            Bpf.LD | Bpf.W | Bpf.ABS => $"ld  [{k}]{FieldName(k)}",
            Bpf.LD | Bpf.W | Bpf.LEN => "ld  #len",
            Bpf.LD | Bpf.IMM => $"ld  #0x{k:x}",
            Bpf.LD | Bpf.MEM => $"ld  M[{k}]",
            Bpf.LDX | Bpf.IMM => $"ldx #0x{k:x}",
            Bpf.LDX | Bpf.MEM => $"ldx M[{k}]",
            Bpf.LDX | Bpf.W | Bpf.LEN => "ldx #len",
            Bpf.ST => $"st  M[{k}]",
            Bpf.STX => $"stx M[{k}]",
            Bpf.MISC | Bpf.TAX => "tax",
            Bpf.MISC | Bpf.TXA => "txa",
            Bpf.RET | Bpf.A => "ret a",
            Bpf.RET | Bpf.K => $"ret {ActionName(k)}",
            Bpf.JMP | Bpf.JA => $"ja  +{k}",
            _ when (i.Code & 7) == Bpf.JMP => $"{JmpName(i.Code)} {((i.Code & Bpf.X) != 0 ? "x" : $"#0x{k:x}")} jt +{i.Jt} jf +{i.Jf}",
            _ when (i.Code & 7) == Bpf.ALU => $"{AluName(i.Code)} {((i.Code & Bpf.X) != 0 ? "x" : $"#0x{k:x}")}",
            _ => $".word code=0x{i.Code:x4} jt={i.Jt} jf={i.Jf} k=0x{k:x}",
        };
    }

    private static string FieldName(uint k) => k switch
    {
        0 => " ; nr",
        4 => " ; arch",
        8 or 12 => " ; instruction_pointer",
        >= 16 and < 64 => $" ; args[{(k - 16) / 8}] word {(k % 8) / 4}",
        _ => "",
    };

    private static string JmpName(ushort c) => (c & 0xf0) switch { Bpf.JEQ => "jeq", Bpf.JGT => "jgt", Bpf.JGE => "jge", Bpf.JSET => "jset", _ => "j??" };

    private static string AluName(ushort c) => (c & 0xf0) switch
    {
        Bpf.ADD => "add", Bpf.SUB => "sub", Bpf.MUL => "mul", Bpf.DIV => "div", Bpf.OR => "or", Bpf.AND => "and",
        Bpf.LSH => "lsh", Bpf.RSH => "rsh", Bpf.NEG => "neg", Bpf.MOD => "mod", Bpf.XOR => "xor", _ => "alu?",
    };

    /// <summary>libseccomp-style name of a seccomp return value, e.g. <c>SCMP_ACT_ERRNO(1)</c>.</summary>
    public static string ActionName(uint v) => (v & SeccompRet.ActionFullMask) switch
    {
        SeccompRet.KillProcess => "SCMP_ACT_KILL_PROCESS",
        SeccompRet.KillThread => "SCMP_ACT_KILL_THREAD",
        SeccompRet.Trap => "SCMP_ACT_TRAP",
        SeccompRet.Errno => $"SCMP_ACT_ERRNO({v & SeccompRet.DataMask})",
        SeccompRet.UserNotif => "SCMP_ACT_NOTIFY",
        SeccompRet.Trace => $"SCMP_ACT_TRACE({v & SeccompRet.DataMask})",
        SeccompRet.Log => "SCMP_ACT_LOG",
        SeccompRet.Allow => "SCMP_ACT_ALLOW",
        _ => $"0x{v:x8}",
    };

    public static void Write(ReadOnlySpan<SockFilter> prog, TextWriter w)
    {
        for (var i = 0; i < prog.Length; i++)
        {
            var ins = prog[i];
            var text = Format(ins);
            if ((ins.Code & 7) == Bpf.JMP)
                text += ins.Code == (Bpf.JMP | Bpf.JA) ? $"  -> {i + 1 + ins.K}" : $"  -> {i + 1 + ins.Jt} / {i + 1 + ins.Jf}";
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i,5}: {ins.Code:x4} {ins.Jt,3} {ins.Jf,3} {ins.K:x8}  {text}"));
        }
    }

    /// <summary>Shortest and longest number of instructions executed by any syscall whose
    /// seccomp_data.arch is <paramref name="arch"/> (A is tracked while it holds the arch;
    /// every other comparison may go either way).</summary>
    public static (int Min, int Max) PathLengths(ReadOnlySpan<SockFilter> prog, uint arch)
    {
        // state: pc x (A holds arch?) ; forward-only jumps make this a DAG
        var memo = new (int Min, int Max)[prog.Length * 2];
        for (var i = 0; i < memo.Length; i++) memo[i] = (-1, -1);
        for (var pc = prog.Length - 1; pc >= 0; pc--)
            for (var known = 0; known < 2; known++)
            {
                var ins = prog[pc];
                (int, int) r;
                if ((ins.Code & 7) == Bpf.RET) r = (1, 1);
                else if (ins.Code == (Bpf.JMP | Bpf.JA)) r = Add(Get(pc + 1 + (int)ins.K, known));
                else if ((ins.Code & 7) == Bpf.JMP)
                {
                    var t = pc + 1 + ins.Jt;
                    var f = pc + 1 + ins.Jf;
                    if (known == 1 && (ins.Code & Bpf.X) == 0)
                    {
                        var taken = (ins.Code & 0xf0) switch
                        {
                            Bpf.JEQ => arch == ins.K, Bpf.JGT => arch > ins.K, Bpf.JGE => arch >= ins.K, _ => (arch & ins.K) != 0,
                        };
                        r = Add(Get(taken ? t : f, 1));
                    }
                    else
                    {
                        var a = Get(t, known); var b = Get(f, known);
                        r = Add((Math.Min(a.Min, b.Min), Math.Max(a.Max, b.Max)));
                    }
                }
                else
                {
                    var nk = ins.Code == (Bpf.LD | Bpf.W | Bpf.ABS) && ins.K == 4 ? 1
                        : (ins.Code & 7) is Bpf.LD or Bpf.ALU || ins.Code == (Bpf.MISC | Bpf.TXA) ? 0 : known;
                    r = Add(Get(pc + 1, nk));
                }
                memo[pc * 2 + known] = r;
            }
        return memo[0];

        (int Min, int Max) Get(int pc, int known) => pc < memo.Length / 2 ? memo[pc * 2 + known] : (0, 0);
        static (int, int) Add((int Min, int Max) v) => (v.Min + 1, v.Max + 1);
    }
}
