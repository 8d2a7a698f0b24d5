using System.Runtime.InteropServices;

namespace Runcs.Seccomp;

/// <summary>The kernel's <c>struct sock_filter</c>: one classic-BPF instruction.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct SockFilter(ushort Code, byte Jt, byte Jf, uint K)
{
    public override string ToString() => Disassembler.Format(this);
}

/// <summary>The kernel's <c>struct seccomp_data</c> (nr, arch, instruction_pointer, args[6]).</summary>
public struct SeccompData
{
    public int Nr;
    public uint Arch;
    public ulong InstructionPointer;
    public Args6 Args;

    public SeccompData(int nr, uint arch, params ReadOnlySpan<ulong> args)
    {
        Nr = nr;
        Arch = arch;
        InstructionPointer = 0;
        Args = default;
        for (var i = 0; i < args.Length && i < 6; i++) Args[i] = args[i];
    }

    /// <summary>Size of the structure as BPF sees it.</summary>
    public const int Size = 64;

    /// <summary>Reads the 32-bit word at <paramref name="offset"/> the way the kernel of
    /// <see cref="Arch"/> lays the structure out (64-bit fields in that arch's byte order).</summary>
    public readonly uint LoadWord(uint offset)
    {
        if (offset == 0) return (uint)Nr;
        if (offset == 4) return Arch;
        ulong v = offset < 16 ? InstructionPointer : Args[(int)((offset - 16) / 8)];
        var lowFirst = (Arch & AuditArch.LittleEndianBit) != 0;
        var isLowHalf = (offset % 8 == 0) == lowFirst;
        return isLowHalf ? (uint)v : (uint)(v >> 32);
    }

    [System.Runtime.CompilerServices.InlineArray(6)]
    public struct Args6 { private ulong _e0; }
}

/// <summary>Classic BPF opcode pieces (linux/filter.h, linux/bpf_common.h).</summary>
public static class Bpf
{
    public const ushort LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
    public const ushort W = 0x00, H = 0x08, B = 0x10;
    public const ushort IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, LEN = 0x80, MSH = 0xa0;
    public const ushort ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70, NEG = 0x80, MOD = 0x90, XOR = 0xa0;
    public const ushort JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40;
    public const ushort K = 0x00, X = 0x08, A = 0x10;
    public const ushort TAX = 0x00, TXA = 0x80;
    public const int MaxInstructions = 4096;
    public const int MemWords = 16;

    public static SockFilter Stmt(ushort code, uint k) => new(code, 0, 0, k);
    public static SockFilter Jump(ushort code, uint k, byte jt, byte jf) => new(code, jt, jf, k);
}

/// <summary>AUDIT_ARCH_* values (linux/audit.h).</summary>
public static class AuditArch
{
    public const uint Bit64 = 0x80000000, LittleEndianBit = 0x40000000, ConventionMips64N32 = 0x20000000;
    public const uint X86_64 = 0xC000003E, I386 = 0x40000003, Arm = 0x40000028, Aarch64 = 0xC00000B7;
    public const uint Riscv64 = 0xC00000F3, Ppc = 0x14, Ppc64 = 0x80000015, Ppc64le = 0xC0000015;
    public const uint S390 = 0x16, S390x = 0x80000016, Mips = 0x8, Mipsel = 0x40000008;
    public const uint Mips64 = 0x80000008, Mipsel64 = 0xC0000008, Mips64N32 = 0xA0000008, Mipsel64N32 = 0xE0000008;
    public const uint Loongarch64 = 0xC0000102, Parisc = 0xF, Parisc64 = 0x8000000F;
    /// <summary>x32 syscalls run under AUDIT_ARCH_X86_64 with this bit set in nr.</summary>
    public const uint X32SyscallBit = 0x40000000;
}

/// <summary>SECCOMP_RET_* values and SECCOMP_FILTER_FLAG_* bits (linux/seccomp.h).</summary>
public static class SeccompRet
{
    public const uint KillProcess = 0x80000000, KillThread = 0x00000000, Trap = 0x00030000, Errno = 0x00050000;
    public const uint UserNotif = 0x7fc00000, Trace = 0x7ff00000, Log = 0x7ffc0000, Allow = 0x7fff0000;
    public const uint ActionFullMask = 0xffff0000, DataMask = 0x0000ffff;
}

public static class SeccompFilterFlags
{
    public const uint Tsync = 1, Log = 2, SpecAllow = 4, NewListener = 8, TsyncEsrch = 16, WaitKillableRecv = 32;
}

/// <summary>Any error in a seccomp profile or tool input. The message is one line and names the field.</summary>
public sealed class SeccompException(string message) : Exception(message);
