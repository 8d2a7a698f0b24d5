using System.Runtime.InteropServices;
using System.Text;

namespace Runcs.Linux;

/// <summary>struct bpf_insn: opcode, dst (low nibble) / src (high nibble) registers, offset, immediate.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct BpfInsn(byte Code, byte Regs, short Off, int Imm);

/// <summary>
/// The few bpf(2) commands the v2 device controller needs: load a cgroup-device program, attach and
/// detach it, list what is attached. union bpf_attr is built as a zeroed byte block with the fields
/// at their kernel offsets (the kernel requires unused tail bytes to be zero).
/// </summary>
public static unsafe partial class Bpf
{
    public const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;
    public const uint BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6;
    public const uint BPF_F_ALLOW_OVERRIDE = 1, BPF_F_ALLOW_MULTI = 2, BPF_F_REPLACE = 4;

    private const int AttrSize = 128;

    private static long SysBpf => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.RiscV64 => 280,
        Architecture.S390x => 351,
        Architecture.Ppc64le => 361,
        _ => throw new RuncsException($"bpf(2): unsupported architecture {RuntimeInformation.ProcessArchitecture}"),
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long nr, long cmd, byte* attr, long size);

    private static long Call(int cmd, byte* attr) => Syscall(SysBpf, cmd, attr, AttrSize);

    private static RuncsException Error(string what, int errno) =>
        new($"bpf {what}: {Marshal.GetPInvokeErrorMessage(errno)}");

    /// <summary>BPF_PROG_LOAD; returns the program fd. On failure, retries with the verifier log to explain.</summary>
    public static int LoadCgroupDeviceProgram(BpfInsn[] insns)
    {
        byte[] license = "Apache-2.0\0"u8.ToArray();
        fixed (BpfInsn* ip = insns)
        fixed (byte* lp = license)
        {
            byte* attr = stackalloc byte[AttrSize];
            new Span<byte>(attr, AttrSize).Clear();
            *(uint*)(attr + 0) = BPF_PROG_TYPE_CGROUP_DEVICE;
            *(uint*)(attr + 4) = (uint)insns.Length;
            *(ulong*)(attr + 8) = (ulong)ip;
            *(ulong*)(attr + 16) = (ulong)lp;
            "runcs_devices"u8.CopyTo(new Span<byte>(attr + 48, 16));
            long fd = Call(BPF_PROG_LOAD, attr);
            if (fd >= 0) return (int)fd;
            int errno = Marshal.GetLastPInvokeError();
            byte[] log = new byte[16384];
            fixed (byte* logp = log)
            {
                *(uint*)(attr + 24) = 1;
                *(uint*)(attr + 28) = (uint)log.Length;
                *(ulong*)(attr + 32) = (ulong)logp;
                long fd2 = Call(BPF_PROG_LOAD, attr);
                if (fd2 >= 0) return (int)fd2;
            }
            int n = Array.IndexOf(log, (byte)0);
            string text = Encoding.UTF8.GetString(log, 0, n < 0 ? log.Length : n).Trim().Replace('\n', ' ');
            throw new RuncsException($"bpf loading the device cgroup program: {Marshal.GetPInvokeErrorMessage(errno)}{(text.Length > 0 ? " (verifier: " + text + ")" : "")}");
        }
    }

    public static void AttachCgroupDevice(int cgroupFd, int progFd, uint flags)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)cgroupFd;
        *(uint*)(attr + 4) = (uint)progFd;
        *(uint*)(attr + 8) = BPF_CGROUP_DEVICE;
        *(uint*)(attr + 12) = flags;
        if (Call(BPF_PROG_ATTACH, attr) < 0) throw Error("attaching the device program to the cgroup", Marshal.GetLastPInvokeError());
    }

    public static void DetachCgroupDevice(int cgroupFd, int progFd)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)cgroupFd;
        *(uint*)(attr + 4) = (uint)progFd;
        *(uint*)(attr + 8) = BPF_CGROUP_DEVICE;
        if (Call(BPF_PROG_DETACH, attr) < 0) throw Error("detaching the old device program", Marshal.GetLastPInvokeError());
    }

    /// <summary>Ids of the device programs attached directly to the cgroup (BPF_PROG_QUERY).</summary>
    public static uint[] QueryCgroupDevicePrograms(int cgroupFd)
    {
        uint[] ids = new uint[64];
        fixed (uint* idp = ids)
        {
            byte* attr = stackalloc byte[AttrSize];
            new Span<byte>(attr, AttrSize).Clear();
            *(uint*)(attr + 0) = (uint)cgroupFd;
            *(uint*)(attr + 4) = BPF_CGROUP_DEVICE;
            *(ulong*)(attr + 16) = (ulong)idp;
            *(uint*)(attr + 24) = (uint)ids.Length;
            if (Call(BPF_PROG_QUERY, attr) < 0) throw Error("querying the cgroup's device programs", Marshal.GetLastPInvokeError());
            uint cnt = *(uint*)(attr + 24);
            return ids.AsSpan(0, (int)Math.Min(cnt, (uint)ids.Length)).ToArray();
        }
    }

    /// <summary>An fd for a loaded program id; -1 if it is gone.</summary>
    public static int GetProgFdById(uint id)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = id;
        long fd = Call(BPF_PROG_GET_FD_BY_ID, attr);
        return fd < 0 ? -1 : (int)fd;
    }
}
