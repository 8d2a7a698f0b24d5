using NUnit.Framework;
using Runcs.Cgroups;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Tests.Cgroups;

/// <summary>A tiny interpreter of exactly the BPF ops the device program generator emits; anything else fails.</summary>
internal static class BpfInterpreter
{
    public static bool Run(BpfInsn[] prog, char type, uint major, uint minor, DeviceAccess access)
    {
        uint accessType = ((uint)access << 16) | (uint)(type == 'b' ? 1 : 2);
        var ctx = new uint[] { accessType, major, minor };
        var r = new ulong[11];
        int pc = 0, steps = 0;
        while (true)
        {
            Assert.That(pc, Is.InRange(0, prog.Length - 1), "pc out of program");
            Assert.That(++steps, Is.LessThan(10000));
            var i = prog[pc++];
            int dst = i.Regs & 0xf, src = i.Regs >> 4;
            switch (i.Code)
            {
                case DeviceProgram.LdxW:
                    Assert.That(src, Is.EqualTo(1), "loads come from the ctx pointer");
                    Assert.That(i.Off % 4, Is.EqualTo(0)); Assert.That(i.Off, Is.InRange(0, 8));
                    r[dst] = ctx[i.Off / 4]; break;
                case DeviceProgram.And32K: r[dst] = (uint)r[dst] & (uint)i.Imm; break;
                case DeviceProgram.Rsh32K: r[dst] = (uint)r[dst] >> i.Imm; break;
                case DeviceProgram.Mov32X: r[dst] = (uint)r[src]; break;
                case DeviceProgram.Mov32K: r[dst] = (uint)i.Imm; break;
                case DeviceProgram.JneK: if (r[dst] != (ulong)(long)i.Imm) pc += i.Off; break;
                case DeviceProgram.JeqK: if (r[dst] == (ulong)(long)i.Imm) pc += i.Off; break;
                case DeviceProgram.JneX: if (r[dst] != r[src]) pc += i.Off; break;
                case DeviceProgram.Exit: return r[0] == 1;
                default: Assert.Fail($"unexpected opcode 0x{i.Code:x2}"); break;
            }
        }
    }
}

public class DeviceTests
{
    private static DeviceRule R(string line, bool allow)
    {
        var f = line.Split(' ');
        var mm = f[1].Split(':');
        return DeviceRule.FromSpec(new DeviceCgroup
        {
            Allow = allow, Type = f[0], Major = mm[0] == "*" ? null : long.Parse(mm[0]), Minor = mm[1] == "*" ? null : long.Parse(mm[1]), Access = f[2],
        }, 0);
    }

    [Test]
    public void Spec_rule_conversion_and_v1_lines()
    {
        Assert.That(DeviceRule.FromSpec(new DeviceCgroup { Allow = false, Access = "rwm" }, 0).V1Line, Is.EqualTo("a *:* rwm"));
        Assert.That(DeviceRule.FromSpec(new DeviceCgroup { Allow = true, Type = "c", Major = 136 }, 0).V1Line, Is.EqualTo("c 136:* rwm"));
        Assert.That(DeviceRule.FromSpec(new DeviceCgroup { Allow = true, Type = "b", Major = 8, Minor = 1, Access = "mr" }, 0).V1Line, Is.EqualTo("b 8:1 rm"));
        Assert.Throws<RuncsException>(() => DeviceRule.FromSpec(new DeviceCgroup { Type = "x" }, 3));
        Assert.Throws<RuncsException>(() => DeviceRule.FromSpec(new DeviceCgroup { Type = "c", Access = "rx" }, 3));
    }

    [Test]
    public void Emulator_follows_v1_semantics()
    {
        var e = DeviceEmulator.From(DeviceRules.Effective([new DeviceCgroup { Allow = true, Type = "c", Major = 4, Minor = 1, Access = "rw" }]));
        Assert.That(e.DefaultAllow, Is.False);
        Assert.That(e.IsAllowed('c', 4, 1, DeviceAccess.Read | DeviceAccess.Write), Is.True);
        Assert.That(e.IsAllowed('c', 4, 1, DeviceAccess.Mknod), Is.True, "mknod of any char device is a default");
        Assert.That(e.IsAllowed('c', 4, 1, DeviceAccess.Read | DeviceAccess.Mknod), Is.False, "v1: one exception must cover the whole request");
        Assert.That(e.IsAllowed('b', 4, 1, DeviceAccess.Read), Is.False);
        Assert.That(e.IsAllowed('c', 136, 7, DeviceAccess.Write), Is.True);

        // Allow-all then deny exceptions; a later allow removes access from the exception.
        var b = DeviceEmulator.From([R("a *:* rwm", true), R("c 1:3 rwm", false), R("c 1:3 w", true)]);
        Assert.That(b.DefaultAllow, Is.True);
        Assert.That(b.IsAllowed('c', 1, 3, DeviceAccess.Write), Is.True);
        Assert.That(b.IsAllowed('c', 1, 3, DeviceAccess.Read), Is.False);
        Assert.That(b.IsAllowed('c', 1, 3, DeviceAccess.Read | DeviceAccess.Write), Is.False, "a deny exception matches on any overlap");
        Assert.That(b.IsAllowed('c', 1, 5, DeviceAccess.Read), Is.True);

        // A later "a" resets everything.
        var c = DeviceEmulator.From([R("c 1:3 rwm", true), R("a *:* rwm", false)]);
        Assert.That(c.Exceptions, Is.Empty);
    }

    [Test]
    public void Punching_a_hole_in_a_wildcard_exception_is_refused()
    {
        var ex = Assert.Throws<RuncsException>(() => DeviceEmulator.From([R("a *:* rwm", false), R("c 136:* rwm", true), R("c 136:3 r", false)]));
        Assert.That(ex!.Message, Does.Contain("cannot punch a hole"));
        Assert.DoesNotThrow(() => DeviceEmulator.From([R("a *:* rwm", false), R("c 136:* rw", true), R("c 136:3 m", false)]));
    }

    [Test]
    public void Deny_all_program_is_two_instructions_after_the_loads()
    {
        var prog = DeviceProgram.Generate(DeviceEmulator.From([R("a *:* rwm", false)]));
        Assert.That(prog.Length, Is.EqualTo(8));
        Assert.That(prog[6], Is.EqualTo(new BpfInsn(DeviceProgram.Mov32K, 0, 0, 0)));
        Assert.That(prog[7].Code, Is.EqualTo(DeviceProgram.Exit));
        Assert.That(BpfInterpreter.Run(prog, 'c', 1, 3, DeviceAccess.Read), Is.False);
    }

    [Test]
    public void Program_layout_for_one_exact_rule()
    {
        var prog = DeviceProgram.Generate(DeviceEmulator.From([R("a *:* rwm", false), R("c 1:3 rw", true)]));
        TestContext.Out.WriteLine(DeviceProgram.Dump(prog));
        // loads(6) + [jne type, mov, and, jne access, jne major, jne minor, mov r0 1, exit](8) + default(2)
        Assert.That(prog.Length, Is.EqualTo(16));
        Assert.That(prog[6], Is.EqualTo(new BpfInsn(DeviceProgram.JneK, 2, 7, 2)));
        Assert.That(prog[9], Is.EqualTo(new BpfInsn(DeviceProgram.JneX, 0x31, 4, 0)));
        Assert.That(prog[10], Is.EqualTo(new BpfInsn(DeviceProgram.JneK, 4, 3, 1)));
        Assert.That(prog[11], Is.EqualTo(new BpfInsn(DeviceProgram.JneK, 5, 2, 3)));
        Assert.That(prog[12], Is.EqualTo(new BpfInsn(DeviceProgram.Mov32K, 0, 0, 1)));
    }

    [Test]
    public void Program_matches_the_emulator_on_random_rule_sets()
    {
        var rng = new Random(12345);
        char[] types = ['a', 'c', 'b'];
        string[] accs = ["r", "w", "m", "rw", "rm", "wm", "rwm"];
        for (int round = 0; round < 400; round++)
        {
            var rules = new List<DeviceRule>();
            int n = rng.Next(0, 8);
            for (int i = 0; i < n; i++)
            {
                char t = rng.Next(10) == 0 ? 'a' : types[1 + rng.Next(2)];
                long maj = rng.Next(4) == 0 ? -1 : rng.Next(1, 4), min = rng.Next(4) == 0 ? -1 : rng.Next(0, 3);
                rules.Add(DeviceRule.FromSpec(new DeviceCgroup { Allow = rng.Next(2) == 0, Type = t.ToString(), Major = maj < 0 ? null : maj, Minor = min < 0 ? null : min, Access = accs[rng.Next(accs.Length)] }, i));
            }
            DeviceEmulator emu;
            try { emu = DeviceEmulator.From(rules); }
            catch (RuncsException) { continue; } // hole punching: refused before any program exists
            var prog = DeviceProgram.Generate(emu);
            foreach (char t in new[] { 'c', 'b' })
                for (uint maj = 0; maj < 5; maj++)
                    for (uint min = 0; min < 4; min++)
                        for (int a = 1; a < 8; a++)
                            Assert.That(BpfInterpreter.Run(prog, t, maj, min, (DeviceAccess)a), Is.EqualTo(emu.IsAllowed(t, maj, min, (DeviceAccess)a)),
                                $"round {round}: {string.Join(", ", rules.Select(r => (r.Allow ? "allow " : "deny ") + r.V1Line))} / {t} {maj}:{min} {(DeviceAccess)a}");
        }
    }

    [Test]
    public void Docker_config_program()
    {
        var cfg = System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(System.IO.Path.Combine(Runcs.Tests.Schema.SchemaTestData.SharedDir, "real-world-configs", "docker-run.json")), RuncsJson.Default.Config)!;
        var prog = DeviceProgram.Generate(DeviceEmulator.From(DeviceRules.Effective(cfg.Linux!.Resources!.Devices)));
        Assert.That(BpfInterpreter.Run(prog, 'c', 5, 1, DeviceAccess.Read | DeviceAccess.Write), Is.True, "console");
        Assert.That(BpfInterpreter.Run(prog, 'c', 10, 229, DeviceAccess.Read | DeviceAccess.Write), Is.False, "fuse denied");
        Assert.That(BpfInterpreter.Run(prog, 'c', 10, 229, DeviceAccess.Mknod), Is.True, "mknod stays allowed by the default c *:* m");
        Assert.That(BpfInterpreter.Run(prog, 'c', 10, 200, DeviceAccess.Read), Is.True, "tun is a runc default");
    }
}
