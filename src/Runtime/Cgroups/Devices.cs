using System.Text;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Cgroups;

[Flags]
public enum DeviceAccess : byte { None = 0, Mknod = 1, Read = 2, Write = 4, All = 7 }

/// <summary>One device cgroup rule: type 'a' (all), 'c' or 'b'; -1 is the "*" wildcard.</summary>
public readonly record struct DeviceRule(char Type, long Major, long Minor, DeviceAccess Access, bool Allow)
{
    public static DeviceRule FromSpec(DeviceCgroup d, int index)
    {
        char type = string.IsNullOrEmpty(d.Type) ? 'a' : d.Type.Length == 1 ? d.Type[0] : '?';
        if (type is not ('a' or 'b' or 'c'))
            throw new RuncsException($"invalid linux.resources.devices[{index}].type \"{d.Type}\": must be a, b or c");
        var acc = DeviceAccess.None;
        foreach (char ch in string.IsNullOrEmpty(d.Access) ? "rwm" : d.Access)
            acc |= ch switch
            {
                'r' => DeviceAccess.Read, 'w' => DeviceAccess.Write, 'm' => DeviceAccess.Mknod,
                _ => throw new RuncsException($"invalid linux.resources.devices[{index}].access \"{d.Access}\": only r, w and m are allowed"),
            };
        long major = d.Major ?? -1, minor = d.Minor ?? -1;
        if (major < -1 || minor < -1 || major > uint.MaxValue || minor > uint.MaxValue)
            throw new RuncsException($"invalid linux.resources.devices[{index}]: major/minor out of range");
        return new DeviceRule(type, major, minor, acc, d.Allow);
    }

    public string AccessString =>
        ((Access & DeviceAccess.Read) != 0 ? "r" : "") + ((Access & DeviceAccess.Write) != 0 ? "w" : "") + ((Access & DeviceAccess.Mknod) != 0 ? "m" : "");

    /// <summary>The v1 devices.allow/devices.deny line, e.g. "c 1:3 rwm" or "a *:* rwm".</summary>
    public string V1Line => $"{Type} {(Major < 0 ? "*" : Major.ToString())}:{(Minor < 0 ? "*" : Minor.ToString())} {AccessString}";
}

public static class DeviceRules
{
    /// <summary>runc's default allow list, appended after the config's rules (runc 1.1 AllowedDevices):
    /// mknod of any char/block device, null, random, full, tty, zero, urandom, /dev/pts/*, ptmx, net/tun.</summary>
    public static readonly IReadOnlyList<DeviceRule> RuncDefaults =
    [
        new('c', -1, -1, DeviceAccess.Mknod, true),
        new('b', -1, -1, DeviceAccess.Mknod, true),
        new('c', 1, 3, DeviceAccess.All, true),
        new('c', 1, 8, DeviceAccess.All, true),
        new('c', 1, 7, DeviceAccess.All, true),
        new('c', 5, 0, DeviceAccess.All, true),
        new('c', 1, 5, DeviceAccess.All, true),
        new('c', 1, 9, DeviceAccess.All, true),
        new('c', 136, -1, DeviceAccess.All, true),
        new('c', 5, 2, DeviceAccess.All, true),
        new('c', 10, 200, DeviceAccess.All, true),
    ];

    /// <summary>The full ordered list the kernel sees: deny-all, the config's rules, then the defaults.</summary>
    public static List<DeviceRule> Effective(IReadOnlyList<DeviceCgroup>? spec)
    {
        var list = new List<DeviceRule> { new('a', -1, -1, DeviceAccess.All, false) };
        for (int i = 0; i < (spec?.Count ?? 0); i++) list.Add(DeviceRule.FromSpec(spec![i], i));
        list.AddRange(RuncDefaults);
        return list;
    }
}

/// <summary>
/// The v1 device controller's semantics, replayed in memory: a default (allow all / deny all) and a set
/// of exceptions. An "a" rule resets the default and clears the exceptions; a rule with the default's
/// action removes access from an exactly matching exception; otherwise it adds an exception. Like runc,
/// removing access that a wildcard exception still grants is refused (v1 would silently ignore it).
/// </summary>
public sealed class DeviceEmulator
{
    public bool DefaultAllow { get; private set; }
    private readonly List<(char Type, long Major, long Minor)> _order = [];
    private readonly Dictionary<(char, long, long), DeviceAccess> _ex = [];

    public IEnumerable<(char Type, long Major, long Minor, DeviceAccess Access)> Exceptions =>
        _order.Select(k => (k.Type, k.Major, k.Minor, _ex[k]));

    public static DeviceEmulator From(IEnumerable<DeviceRule> rules)
    {
        var e = new DeviceEmulator();
        foreach (var r in rules) e.Apply(r);
        return e;
    }

    public void Apply(DeviceRule r)
    {
        if (r.Type == 'a')
        {
            DefaultAllow = r.Allow;
            _order.Clear();
            _ex.Clear();
            return;
        }
        var key = (r.Type, r.Major, r.Minor);
        if (r.Allow != DefaultAllow)
        {
            if (_ex.TryGetValue(key, out var cur)) _ex[key] = cur | r.Access;
            else { _ex[key] = r.Access; _order.Add(key); }
            return;
        }
        foreach (var partial in new[] { (r.Type, -1L, r.Minor), (r.Type, r.Major, -1L), (r.Type, -1L, -1L) })
        {
            if (partial == key) continue;
            if (_ex.TryGetValue(partial, out var pa) && (pa & r.Access) != 0)
                throw new RuncsException($"device rule \"{r.V1Line}\" cannot punch a hole in the wildcard exception \"{new DeviceRule(partial.Item1, partial.Item2, partial.Item3, pa, !DefaultAllow).V1Line}\"");
        }
        if (_ex.TryGetValue(key, out var have))
        {
            var left = have & ~r.Access;
            if (left == DeviceAccess.None) { _ex.Remove(key); _order.Remove(key); }
            else _ex[key] = left;
        }
    }

    /// <summary>The kernel's v1 check for one access request (type 'c' or 'b').</summary>
    public bool IsAllowed(char type, uint major, uint minor, DeviceAccess access)
    {
        foreach (var k in _order)
        {
            if (k.Type != type) continue;
            if (k.Major >= 0 && k.Major != major) continue;
            if (k.Minor >= 0 && k.Minor != minor) continue;
            var a = _ex[k];
            if (DefaultAllow) { if ((a & access) != 0) return false; }       // a deny exception overlapping the request
            else if ((access & ~a) == 0) return true;                         // an allow exception covering the request
        }
        return DefaultAllow;
    }
}

/// <summary>
/// Generates the BPF_PROG_TYPE_CGROUP_DEVICE program for a device emulator state. The context is
/// struct bpf_cgroup_dev_ctx { u32 access_type (access &lt;&lt; 16 | type); u32 major; u32 minor; }.
/// Exceptions are tested in order; the first that matches returns the opposite of the default;
/// falling through returns the default (R0 = 1 allows). An allow exception matches when it covers
/// every requested access bit; a deny exception when it shares any (as the v1 kernel checks).
/// </summary>
public static class DeviceProgram
{
    public const int BPF_DEVCG_DEV_BLOCK = 1, BPF_DEVCG_DEV_CHAR = 2;

    // Opcodes used (all the interpreter in the tests needs to know).
    public const byte LdxW = 0x61, And32K = 0x54, Rsh32K = 0x74, Mov32X = 0xbc, Mov32K = 0xb4,
        JneK = 0x55, JneX = 0x5d, JeqK = 0x15, Exit = 0x95;

    public static BpfInsn[] Generate(DeviceEmulator emu)
    {
        var p = new List<BpfInsn>
        {
            Ins(LdxW, 2, 1, 0, 0),      // r2 = ctx->access_type
            Ins(And32K, 2, 0, 0, 0xffff), // w2 &= 0xffff   (type)
            Ins(LdxW, 3, 1, 0, 0),      // r3 = ctx->access_type
            Ins(Rsh32K, 3, 0, 0, 16),   // w3 >>= 16      (access)
            Ins(LdxW, 4, 1, 4, 0),      // r4 = ctx->major
            Ins(LdxW, 5, 1, 8, 0),      // r5 = ctx->minor
        };
        int verdict = emu.DefaultAllow ? 0 : 1;
        foreach (var (type, major, minor, access) in emu.Exceptions)
        {
            var block = new List<(BpfInsn Insn, bool JumpsToNext)>();
            block.Add((Ins(JneK, 2, 0, 0, type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), true));
            if (access != DeviceAccess.All)
            {
                block.Add((Ins(Mov32X, 1, 3, 0, 0), false));              // w1 = w3
                block.Add((Ins(And32K, 1, 0, 0, (int)access), false));    // w1 &= rule access
                block.Add(emu.DefaultAllow
                    ? (Ins(JeqK, 1, 0, 0, 0), true)                       // deny: no overlap -> next
                    : (Ins(JneX, 1, 3, 0, 0), true));                     // allow: not a subset -> next
            }
            if (major >= 0) block.Add((Ins(JneK, 4, 0, 0, unchecked((int)(uint)major)), true));
            if (minor >= 0) block.Add((Ins(JneK, 5, 0, 0, unchecked((int)(uint)minor)), true));
            block.Add((Ins(Mov32K, 0, 0, 0, verdict), false));
            block.Add((Ins(Exit, 0, 0, 0, 0), false));
            for (int i = 0; i < block.Count; i++)
            {
                var (ins, jumps) = block[i];
                p.Add(jumps ? ins with { Off = checked((short)(block.Count - i - 1)) } : ins);
            }
        }
        p.Add(Ins(Mov32K, 0, 0, 0, emu.DefaultAllow ? 1 : 0));
        p.Add(Ins(Exit, 0, 0, 0, 0));
        return p.ToArray();
    }

    private static BpfInsn Ins(byte code, byte dst, byte src, short off, int imm) =>
        new(code, (byte)((src << 4) | (dst & 0xf)), off, imm);

    public static string Dump(IEnumerable<BpfInsn> prog)
    {
        var sb = new StringBuilder();
        int i = 0;
        foreach (var x in prog) sb.Append($"{i++,3}: code=0x{x.Code:x2} dst=r{x.Regs & 0xf} src=r{x.Regs >> 4} off={x.Off} imm={x.Imm}\n");
        return sb.ToString();
    }
}

internal sealed partial class CgroupManager
{
    private void SetDevices(List<DeviceCgroup>? devices, bool update)
    {
        if (update && devices is null) return;
        var rules = DeviceRules.Effective(devices);
        var emu = DeviceEmulator.From(rules); // validates (and refuses hole punching) before any write
        if (V1Dir("devices") is { } dir)
        {
            foreach (var r in rules)
                W(dir, r.Allow ? "devices.allow" : "devices.deny", r.V1Line);
            return;
        }
        if (_v2 is null)
        {
            if (devices is null || devices.Count == 0) { Debug("no devices controller: device rules not applied"); return; }
            throw Missing("device rules", "devices");
        }
        _fs.AttachDeviceProgram(_v2, DeviceProgram.Generate(emu));
    }
}
