using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>config-linux.md "Namespaces", "User namespace mappings", "Offset for Time Namespace"; config.md "Hostname", "Domainname".</summary>
[TestFixture, NonParallelizable]
public class NamespaceTests
{
    [Test]
    public void ConfigLinux_Namespaces_Pid_ProcessIsPid1()
    {
        using var b = new Bundle();
        b.Sh("echo $$; readlink /proc/self/ns/pid");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines[0], Is.EqualTo("1"));
        Assert.That(lines[1], Is.Not.EqualTo(LcAssert.HostNs("pid")));
    }

    [Test]
    public void ConfigLinux_Namespaces_Uts_HostnameAndDomainname()
    {
        using var b = new Bundle();
        b.Config["hostname"] = "lc-host";
        b.Config["domainname"] = "lc.example";
        b.Sh("hostname; cat /proc/sys/kernel/domainname; readlink /proc/self/ns/uts");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines[0], Is.EqualTo("lc-host"));
        Assert.That(lines[1], Is.EqualTo("lc.example"));
        Assert.That(lines[2], Is.Not.EqualTo(LcAssert.HostNs("uts")));
    }

    [TestCase("ipc", "ipc")]
    [TestCase("mount", "mnt")]
    [TestCase("network", "net")]
    public void ConfigLinux_Namespaces_New_DiffersFromHost(string type, string proc)
    {
        using var b = new Bundle();
        Assert.That(b.HasNamespace(type));
        b.Args("readlink", $"/proc/self/ns/{proc}");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.Not.EqualTo(LcAssert.HostNs(proc)).And.StartWith(proc + ":["));
    }

    [Test]
    public void ConfigLinux_Namespaces_Network_OnlyLoopback()
    {
        using var b = new Bundle();
        b.Sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ls /sys/class/net");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines, Is.EqualTo(new[] { "lo", "lo" }));
    }

    [Test]
    public void ConfigLinux_Namespaces_NoMountNamespace_RefusedOrShared()
    {
        // Not a spec requirement on success, but no network namespace means the host's: the container sees host links.
        using var b = new Bundle();
        b.RemoveNamespace("network");
        b.Args("readlink", "/proc/self/ns/net");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo(LcAssert.HostNs("net")));
    }

    [Test]
    public void ConfigLinux_Namespaces_Cgroup_RootIsSlash()
    {
        using var b = new Bundle();
        b.AddNamespace("cgroup");
        b.Sh("readlink /proc/self/ns/cgroup; cat /proc/self/cgroup");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines[0], Is.Not.EqualTo(LcAssert.HostNs("cgroup")));
        foreach (var l in lines.Skip(1))
            Assert.That(l.Split(':', 3)[2], Is.EqualTo("/"), "cgroup paths inside a new cgroup namespace are /: " + l);
    }

    [Test]
    public void ConfigLinux_Namespaces_Time_BoottimeAndMonotonicOffsets()
    {
        // config-linux.md "Offset for Time Namespace": /proc/uptime follows the boottime offset.
        using var b = new Bundle();
        b.AddNamespace("time");
        b.Linux["timeOffsets"] = new JsonObject
        {
            ["boottime"] = new JsonObject { ["secs"] = 864000, ["nanosecs"] = 0 },
            ["monotonic"] = new JsonObject { ["secs"] = 432000, ["nanosecs"] = 0 },
        };
        b.Sh("readlink /proc/self/ns/time; cut -d' ' -f1 /proc/uptime; cat /proc/self/timens_offsets");
        var hostUptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines[0], Is.Not.EqualTo(LcAssert.HostNs("time")));
        var inside = double.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(inside - hostUptime, Is.InRange(864000 - 5, 864000 + 30));
        Assert.That(string.Join("\n", lines.Skip(2)), Does.Contain("monotonic").And.Contain("432000").And.Contain("864000"));
    }

    [Test]
    public void ConfigLinux_UserNamespace_Mappings_AndId()
    {
        // config-linux.md "User namespace mappings".
        using var b = new Bundle();
        b.AddNamespace("user");
        b.Linux["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        b.Linux["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 200000, ["size"] = 65536 });
        b.Sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; readlink /proc/self/ns/user");
        var r = b.RunContainer();
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var lines = LcAssert.Lines(r.Stdout);
        Assert.That(System.Text.RegularExpressions.Regex.Split(lines[0], @"\s+"), Is.EqualTo(new[] { "0", "100000", "65536" }));
        Assert.That(System.Text.RegularExpressions.Regex.Split(lines[1], @"\s+"), Is.EqualTo(new[] { "0", "200000", "65536" }));
        Assert.That(lines[2], Is.EqualTo("0"));
        Assert.That(lines[3], Is.EqualTo("0"));
        Assert.That(lines[4], Is.Not.EqualTo(LcAssert.HostNs("user")));
    }

    [Test]
    public void ConfigLinux_UserNamespace_ProcessRunsAsMappedHostUid()
    {
        // Seen from the host, the container process is uid 100000+uid.
        using var b = new Bundle();
        b.AddNamespace("user");
        b.Linux["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        b.Linux["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        b.Args("sleep", "100");
        var id = b.NewId();
        var c = b.Create(id);
        Assert.That(c.ExitCode, Is.EqualTo(0), c.ToString());
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        Thread.Sleep(100);
        var status = LcAssert.Status(File.ReadAllText($"/proc/{pid}/status"));
        Assert.That(status["Uid"].Split('\t')[0], Is.EqualTo("100000"));
    }

    [Test]
    public void ConfigLinux_Namespaces_JoinByPath_Network()
    {
        using var b = new Bundle();
        var name = "runcs-lc-" + Guid.NewGuid().ToString("N")[..8];
        var add = Run.Exec("ip", ["netns", "add", name]);
        Assert.That(add.ExitCode, Is.EqualTo(0), add.ToString());
        b.OnCleanup(() => Run.Exec("ip", ["netns", "delete", name]));
        var path = "/run/netns/" + name;
        var ino = Run.Exec("stat", ["-L", "-c", "%i", path]).Stdout.Trim();
        b.AddNamespace("network", path);
        b.Args("readlink", "/proc/self/ns/net");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo($"net:[{ino}]"));
    }

    [Test]
    public void ConfigLinux_Namespaces_JoinByPath_Uts_FromRunningContainer()
    {
        // Join another container's uts namespace through /proc/<pid>/ns/uts.
        using var b = new Bundle();
        b.Config["hostname"] = "first";
        b.Args("sleep", "100");
        var first = b.NewId();
        Assert.That(b.Create(first).ExitCode, Is.EqualTo(0));
        int pid = b.State(first)!["pid"]!.GetValue<int>();
        b.Config.Remove("hostname");
        b.AddNamespace("uts", $"/proc/{pid}/ns/uts");
        b.Args("hostname");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo("first"));
    }

    [Test]
    public void ConfigLinux_Namespaces_PathOfWrongType_ClearError()
    {
        // config-linux.md: a namespace path that is not of the type given is an error.
        using var b = new Bundle();
        b.AddNamespace("network", "/proc/self/ns/ipc");
        b.Args("true");
        var before = LcAssert.Take(b);
        var r = b.Create(b.NewId());
        LcAssert.FailedCleanly(b, r, before, "network");
    }

    [Test]
    public void ConfigLinux_Namespaces_PathMissing_ClearError()
    {
        using var b = new Bundle();
        b.AddNamespace("network", "/run/netns/runcs-lc-does-not-exist");
        b.Args("true");
        var before = LcAssert.Take(b);
        var r = b.Create(b.NewId());
        LcAssert.FailedCleanly(b, r, before, "/run/netns/runcs-lc-does-not-exist");
    }
}
