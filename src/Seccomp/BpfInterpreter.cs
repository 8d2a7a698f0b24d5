namespace Runcs.Seccomp;

/// <summary>Result of running a filter.</summary>
public readonly record struct BpfResult(uint Value, int Executed);

/// <summary>A classic-BPF interpreter for seccomp filters, with the kernel's load-time checks
/// (bpf_check_classic + seccomp_check_filter).</summary>
public static class BpfInterpreter
{
    /// <summary>Throws <see cref="SeccompException"/> when the kernel would refuse the program.</summary>
    public static void Validate(ReadOnlySpan<SockFilter> prog)
    {
        if (prog.Length == 0 || prog.Length > Bpf.MaxInstructions)
            throw new SeccompException($"bpf: program length {prog.Length} is outside 1..{Bpf.MaxInstructions}");
        for (var pc = 0; pc < prog.Length; pc++)
        {
            var ins = prog[pc];
            var code = ins.Code;
            switch (code & 0x07)
            {
                case Bpf.LD:
                    if (code == (Bpf.LD | Bpf.W | Bpf.ABS))
                    {
                        if ((ins.K & 3) != 0 || ins.K >= SeccompData.Size) throw Bad(pc, "load offset must be 4-aligned and inside seccomp_data");
                    }
                    else if (code == (Bpf.LD | Bpf.W | Bpf.LEN) || code == (Bpf.LD | Bpf.IMM)) { }
                    else if (code == (Bpf.LD | Bpf.MEM)) CheckMem(pc, ins.K);
                    else throw Bad(pc, "load mode not allowed in seccomp");
                    break;
                case Bpf.LDX:
                    if (code == (Bpf.LDX | Bpf.W | Bpf.LEN) || code == (Bpf.LDX | Bpf.IMM)) { }
                    else if (code == (Bpf.LDX | Bpf.MEM)) CheckMem(pc, ins.K);
                    else throw Bad(pc, "ldx mode not allowed in seccomp");
                    break;
                case Bpf.ST:
                case Bpf.STX:
                    if ((code & ~0x07) != 0) throw Bad(pc, "bad store");
                    CheckMem(pc, ins.K);
                    break;
                case Bpf.ALU:
                    var aop = code & 0xf0;
                    if (aop > Bpf.XOR || (code & 0x08) != 0 && aop == Bpf.NEG) throw Bad(pc, "bad alu op");
                    if ((code & 0x08) == 0 && (aop == Bpf.DIV || aop == Bpf.MOD) && ins.K == 0) throw Bad(pc, "division by constant zero");
                    if ((code & 0x08) == 0 && (aop == Bpf.LSH || aop == Bpf.RSH) && ins.K >= 32) throw Bad(pc, "shift out of range");
                    break;
                case Bpf.JMP:
                    var jop = code & 0xf0;
                    if (jop == Bpf.JA)
                    {
                        if ((code & 0x08) != 0) throw Bad(pc, "bad ja");
                        if (ins.K >= (uint)(prog.Length - pc - 1)) throw Bad(pc, "jump out of range");
                    }
                    else if (jop is Bpf.JEQ or Bpf.JGT or Bpf.JGE or Bpf.JSET)
                    {
                        if (pc + 1 + ins.Jt >= prog.Length || pc + 1 + ins.Jf >= prog.Length) throw Bad(pc, "jump out of range");
                    }
                    else throw Bad(pc, "bad jump op");
                    break;
                case Bpf.RET:
                    if (code != (Bpf.RET | Bpf.K) && code != (Bpf.RET | Bpf.A)) throw Bad(pc, "bad ret");
                    break;
                case Bpf.MISC:
                    if (code != (Bpf.MISC | Bpf.TAX) && code != (Bpf.MISC | Bpf.TXA)) throw Bad(pc, "bad misc op");
                    break;
            }
        }
        if ((prog[^1].Code & 0x07) != Bpf.RET) throw new SeccompException("bpf: program does not end with RET");
    }

    private static void CheckMem(int pc, uint k)
    {
        if (k >= Bpf.MemWords) throw Bad(pc, "scratch memory index out of range");
    }

    private static SeccompException Bad(int pc, string why) => new($"bpf: instruction {pc}: {why}");

    /// <summary>Validates and runs <paramref name="prog"/> on <paramref name="data"/>.</summary>
    public static BpfResult Run(ReadOnlySpan<SockFilter> prog, in SeccompData data)
    {
        Validate(prog);
        return RunUnchecked(prog, data);
    }

    /// <summary>Runs a program already checked by <see cref="Validate"/>.</summary>
    public static BpfResult RunUnchecked(ReadOnlySpan<SockFilter> prog, in SeccompData data)
    {
        uint a = 0, x = 0;
        Span<uint> mem = stackalloc uint[Bpf.MemWords];
        var pc = 0;
        var executed = 0;
        while (true)
        {
            var ins = prog[pc++];
            executed++;
            var k = ins.K;
            switch (ins.Code)
            {
                case Bpf.LD | Bpf.W | Bpf.ABS: a = data.LoadWord(k); break;
                case Bpf.LD | Bpf.W | Bpf.LEN: a = SeccompData.Size; break;
                case Bpf.LDX | Bpf.W | Bpf.LEN: x = SeccompData.Size; break;
                case Bpf.LD | Bpf.IMM: a = k; break;
                case Bpf.LDX | Bpf.IMM: x = k; break;
                case Bpf.LD | Bpf.MEM: a = mem[(int)k]; break;
                case Bpf.LDX | Bpf.MEM: x = mem[(int)k]; break;
                case Bpf.ST: mem[(int)k] = a; break;
                case Bpf.STX: mem[(int)k] = x; break;
                case Bpf.MISC | Bpf.TAX: x = a; break;
                case Bpf.MISC | Bpf.TXA: a = x; break;
                case Bpf.RET | Bpf.K: return new BpfResult(k, executed);
                case Bpf.RET | Bpf.A: return new BpfResult(a, executed);
                case Bpf.JMP | Bpf.JA: pc += (int)k; break;
                default:
                    if ((ins.Code & 0x07) == Bpf.ALU)
                    {
                        var src = (ins.Code & Bpf.X) != 0 ? x : k;
                        a = (ins.Code & 0xf0) switch
                        {
                            Bpf.ADD => a + src, Bpf.SUB => a - src, Bpf.MUL => a * src,
                            Bpf.DIV => src == 0 ? 0 : a / src, Bpf.MOD => src == 0 ? 0 : a % src,
                            Bpf.OR => a | src, Bpf.AND => a & src, Bpf.XOR => a ^ src,
                            Bpf.LSH => src >= 32 ? 0 : a << (int)src, Bpf.RSH => src >= 32 ? 0 : a >> (int)src,
                            Bpf.NEG => (uint)-(int)a,
                            _ => throw Bad(pc - 1, "bad alu op"),
                        };
                        if ((ins.Code & Bpf.X) != 0 && (ins.Code & 0xf0) is Bpf.DIV or Bpf.MOD && src == 0)
                            return new BpfResult(0, executed); // the kernel aborts the program: returns 0
                    }
                    else if ((ins.Code & 0x07) == Bpf.JMP)
                    {
                        var src = (ins.Code & Bpf.X) != 0 ? x : k;
                        var taken = (ins.Code & 0xf0) switch
                        {
                            Bpf.JEQ => a == src, Bpf.JGT => a > src, Bpf.JGE => a >= src, Bpf.JSET => (a & src) != 0,
                            _ => throw Bad(pc - 1, "bad jump op"),
                        };
                        pc += taken ? ins.Jt : ins.Jf;
                    }
                    else throw Bad(pc - 1, "bad opcode");
                    break;
            }
        }
    }
}
