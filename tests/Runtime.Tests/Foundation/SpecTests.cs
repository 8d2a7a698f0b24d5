using System.Text.Json;
using NUnit.Framework;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Tests.Foundation;

/// <summary>System.Text.Json paths to JSON pointers (RFC 6901) for error messages.</summary>
[TestFixture]
public class PathToPointerTests
{
    [TestCase(null, "")]
    [TestCase("", "")]
    [TestCase("$", "")]
    [TestCase("$.process", "/process")]
    [TestCase("$.linux.namespaces[2].type", "/linux/namespaces/2/type")]
    [TestCase("$.process.args[0]", "/process/args/0")]
    [TestCase("$['annotations']['a.b']", "/annotations/a.b")]
    [TestCase("$.linux.sysctl['net/ipv4']", "/linux/sysctl/net~1ipv4")]
    [TestCase("$.annotations['x~y']", "/annotations/x~0y")]
    [TestCase("$.mounts[10].options[3]", "/mounts/10/options/3")]
    public void Converts(string? path, string pointer) => Assert.That(ConfigLoader.PathToPointer(path), Is.EqualTo(pointer));

    [Test]
    public void TypeError_NamesPointer()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("""{"ociVersion":"1.3.0","process":{"cwd":"/","user":{"uid":"zero","gid":0}}}"""u8));
        Assert.That(e!.Pointer, Is.EqualTo("/process/user/uid"));
    }

    [TestCase("{", "")]
    [TestCase("[]", "")]
    [TestCase("null", "")]
    public void NotAnObject_IsRejectedAtRoot(string json, string pointer)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.That(e!.Pointer, Is.EqualTo(pointer));
        Assert.That(e.Message, Does.StartWith("invalid config: /: "));
    }

    [Test]
    public void FullPrecision_Uint64AndMinusOne()
    {
        var c = ConfigLoader.Parse("""
            {"ociVersion":"1.3.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":18446744073709551615}]},
             "linux":{"resources":{"memory":{"limit":-1,"swap":-1}}}}
            """u8);
        Assert.That(c.Process!.Rlimits![0].Hard, Is.EqualTo(ulong.MaxValue));
    }
}

/// <summary>runc-equivalent `spec` defaults (runc's specconv.Example / ToRootless).</summary>
[TestFixture]
public class DefaultSpecTests
{
    [Test]
    public void Default_IsRuncsExample()
    {
        var c = DefaultSpec.Create(rootless: false);
        Assert.That(c.OciVersion, Is.EqualTo("1.3.0"));
        Assert.That(c.Root!.Path, Is.EqualTo("rootfs"));
        Assert.That(c.Root.Readonly, Is.True);
        var p = c.Process!;
        Assert.That(p.Terminal, Is.True);
        Assert.That(p.Args, Is.EqualTo(new[] { "sh" }));
        Assert.That(p.Cwd, Is.EqualTo("/"));
        Assert.That(p.User.Uid, Is.EqualTo(0u));
        Assert.That(p.NoNewPrivileges, Is.True);
        Assert.That(p.Env, Does.Contain("TERM=xterm"));
        var caps = new[] { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };
        Assert.That(p.Capabilities!.Bounding, Is.EqualTo(caps));
        Assert.That(p.Capabilities!.Effective, Is.EqualTo(caps));
        Assert.That(p.Capabilities!.Permitted, Is.EqualTo(caps));
        Assert.That(p.Capabilities.Inheritable, Is.Null);
        Assert.That(p.Rlimits!.Single().Type, Is.EqualTo("RLIMIT_NOFILE"));
        Assert.That(p.Rlimits![0].Hard, Is.EqualTo(1024UL));
        Assert.That(c.Mounts!.Select(m => m.Destination), Is.EqualTo(new[] { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup" }));
        Assert.That(c.Linux!.Namespaces!.Select(n => n.Type), Is.EquivalentTo(new[] { "pid", "network", "ipc", "uts", "mount" }));
        Assert.That(c.Linux.UidMappings, Is.Null);
        Assert.That(c.Linux.MaskedPaths, Does.Contain("/proc/kcore").And.Contain("/sys/firmware"));
        Assert.That(c.Linux.ReadonlyPaths, Does.Contain("/proc/sys"));
        var dev = c.Linux.Resources!.Devices!.Single();
        Assert.That(dev.Allow, Is.False);
        Assert.That(dev.Access, Is.EqualTo("rwm"));
    }

    [Test]
    public void Rootless_HasUserNsMappingsNoNetNsNoCgroupMount()
    {
        var c = DefaultSpec.Create(rootless: true, uid: 1234, gid: 5678);
        var l = c.Linux!;
        Assert.That(l.Namespaces!.Select(n => n.Type), Does.Contain("user").And.Not.Contain("network"));
        Assert.That(l.UidMappings!.Single(), Has.Property("ContainerID").EqualTo(0u).And.Property("HostID").EqualTo(1234u).And.Property("Size").EqualTo(1u));
        Assert.That(l.GidMappings!.Single(), Has.Property("ContainerID").EqualTo(0u).And.Property("HostID").EqualTo(5678u).And.Property("Size").EqualTo(1u));
        Assert.That(c.Mounts!.Select(m => m.Destination), Does.Not.Contain("/sys/fs/cgroup"));
        var sys = c.Mounts!.Single(m => m.Destination == "/sys");
        Assert.That(sys.Options, Does.Contain("rbind").And.Contain("ro"));
        Assert.That(c.Mounts!.Single(m => m.Destination == "/dev/pts").Options, Does.Not.Contain("gid=5"));
        Assert.That(l.Resources, Is.Null);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Default_PassesTheValidator(bool rootless)
    {
        var dir = TestDirs.NewTemp("defaultspec");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "rootfs"));
            var c = DefaultSpec.Create(rootless, 1000, 1000);
            File.WriteAllBytes(Path.Combine(dir, "config.json"), JsonSerializer.SerializeToUtf8Bytes(c, RuncsJson.Default.Config));
            var loaded = ConfigLoader.LoadBundle(dir, forCreate: true);
            Assert.That(loaded.Rootfs, Is.EqualTo(Path.Combine(dir, "rootfs")));
        }
        finally { TestDirs.Remove(dir); }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Default_IsValidAgainstOfficialConfigSchema(bool rootless)
    {
        var json = JsonSerializer.Serialize(DefaultSpec.Create(rootless, 1000, 1000), RuncsJson.Default.Config);
        var (valid, errors) = OfficialSchema.Evaluate("config-schema.json", json);
        Assert.That(valid, Is.True, errors);
    }
}

/// <summary>Signal names as runc's kill accepts them.</summary>
[TestFixture]
public class SignalTests
{
    [TestCase("KILL", 9)]
    [TestCase("SIGKILL", 9)]
    [TestCase("kill", 9)]
    [TestCase("sigterm", 15)]
    [TestCase("SigHup", 1)]
    [TestCase("TERM", 15)]
    [TestCase("9", 9)]
    [TestCase("1", 1)]
    [TestCase("64", 64)]
    [TestCase("USR1", 10)]
    [TestCase("SIGUSR2", 12)]
    [TestCase("CHLD", 17)]
    [TestCase("WINCH", 28)]
    [TestCase("SIGSYS", 31)]
    [TestCase("IOT", 6)]
    [TestCase("POLL", 29)]
    [TestCase("RTMIN", 34)]
    [TestCase("SIGRTMIN+1", 35)]
    [TestCase("rtmin+30", 64)]
    [TestCase("RTMAX", 64)]
    [TestCase("SIGRTMAX-2", 62)]
    public void Parses(string s, int n) => Assert.That(Tables.ParseSignal(s), Is.EqualTo(n));

    [TestCase("")]
    [TestCase("0")]
    [TestCase("65")]
    [TestCase("-9")]
    [TestCase("+9")]
    [TestCase("SIG")]
    [TestCase("NOPE")]
    [TestCase("SIGNOPE")]
    [TestCase("RTMIN+31")]
    [TestCase("RTMAX+1")]
    [TestCase("RTMINx")]
    [TestCase("9x")]
    [TestCase(" 9")]
    public void Invalid_IsAnError(string s)
    {
        var e = Assert.Throws<RuncsException>(() => Tables.ParseSignal(s));
        Assert.That(e!.Message, Does.Contain("unknown signal"));
    }
}
