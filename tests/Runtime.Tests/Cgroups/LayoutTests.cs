using NUnit.Framework;
using Runcs.Cgroups;

namespace Runcs.Tests.Cgroups;

public class LayoutTests
{
    [Test]
    public void Hybrid_host_is_detected_with_v1_controllers_and_unified_hugetlb()
    {
        using var h = FakeHost.Hybrid();
        var l = h.Factory().Layout;
        Assert.That(l.Mode, Is.EqualTo(CgroupMode.Hybrid));
        Assert.That(l.V1.Keys, Is.EquivalentTo(FakeHost.HostV1));
        Assert.That(l.UnifiedMount, Is.EqualTo(h.P("unified")));
        Assert.That(l.UnifiedControllers, Is.EquivalentTo(new[] { "hugetlb" }));
        Assert.That(l.V1["memory"].OwnDir, Is.EqualTo(h.P("memory/process_api/abc")));
        Assert.That(l.V1["cpu"].OwnDir, Is.EqualTo(h.P("cpu")));
        Assert.That(l.UnifiedOwnDir, Is.EqualTo(h.P("unified")));
    }

    [Test]
    public void Pure_v1_with_comounted_controllers_shares_one_hierarchy()
    {
        using var h = FakeHost.V1();
        var l = h.Factory().Layout;
        Assert.That(l.Mode, Is.EqualTo(CgroupMode.V1));
        Assert.That(l.V1["cpu"], Is.SameAs(l.V1["cpuacct"]));
        Assert.That(l.V1["net_prio"].MountPoint, Is.EqualTo(h.P("net_cls,net_prio")));
        Assert.That(l.V1["cpu"].OwnDir, Is.EqualTo(h.P("cpu,cpuacct/user.slice")));
        Assert.That(l.UnifiedMount, Is.Null);
        Assert.That(l.UnifiedControllers, Is.Empty);
    }

    [Test]
    public void Pure_v2_ignores_cgroup2_mounts_outside_the_root()
    {
        using var h = FakeHost.V2();
        var l = h.Factory().Layout;
        Assert.That(l.Mode, Is.EqualTo(CgroupMode.V2));
        Assert.That(l.UnifiedMount, Is.EqualTo(h.Root));
        Assert.That(l.UnifiedOwnDir, Is.EqualTo(h.P("runner")));
        Assert.That(l.UnifiedControllers, Does.Contain("memory").And.Contain("io"));
        Assert.That(l.V1, Is.Empty);
    }

    [Test]
    public void Hybrid_with_empty_unified_mount_owns_nothing()
    {
        using var h = FakeHost.Hybrid(unifiedControllers: "");
        var l = h.Factory().Layout;
        Assert.That(l.Mode, Is.EqualTo(CgroupMode.Hybrid));
        Assert.That(l.UnifiedControllers, Is.Empty);
    }

    [Test]
    public void Mountinfo_octal_escapes_are_decoded()
    {
        var m = CgroupLayout.ParseMountInfoLine("40 31 0:37 /a\\040b /mnt/with\\040space rw shared:1 - cgroup cgroup rw,memory");
        Assert.That(m, Is.Not.Null);
        Assert.That(m!.Value.Root, Is.EqualTo("/a b"));
        Assert.That(m.Value.MountPoint, Is.EqualTo("/mnt/with space"));
        Assert.That(m.Value.FsType, Is.EqualTo("cgroup"));
        Assert.That(m.Value.SuperOptions, Is.EqualTo("rw,memory"));
    }

    [Test]
    public void Mount_root_is_stripped_from_own_path()
    {
        Assert.That(CgroupLayout.StripRoot("/docker/abc/x", "/docker/abc"), Is.EqualTo("/x"));
        Assert.That(CgroupLayout.StripRoot("/docker/abc", "/docker/abc"), Is.EqualTo("/"));
        Assert.That(CgroupLayout.StripRoot("/other", "/docker/abc"), Is.EqualTo("/other"));
    }

    [Test]
    public void Missing_mountinfo_is_a_clear_error()
    {
        using var h = FakeHost.V2();
        File.Delete(h.Host.MountInfo);
        var ex = Assert.Throws<RuncsException>(() => _ = h.Factory().Layout);
        Assert.That(ex!.Message, Does.Contain("mountinfo"));
    }

    [Test]
    public void This_machine_is_detected()
    {
        if (!File.Exists("/proc/self/mountinfo") || !Directory.Exists("/sys/fs/cgroup")) Assert.Ignore("no cgroupfs");
        var l = new CgroupManagerFactory().Layout;
        TestContext.Out.WriteLine($"mode {l.Mode}; v1 {string.Join(',', l.V1.Keys)}; unified {l.UnifiedMount} owns {string.Join(',', l.UnifiedControllers)}");
        if (Directory.Exists("/sys/fs/cgroup/unified") && Directory.Exists("/sys/fs/cgroup/memory"))
        {
            Assert.That(l.Mode, Is.EqualTo(CgroupMode.Hybrid));
            Assert.That(l.V1.Keys, Does.Contain("memory").And.Contain("freezer"));
        }
    }
}

public class CgroupPathTests
{
    [TestCase(null, "ctr1", false, "/ctr1")]
    [TestCase("", "ctr1", false, "/ctr1")]
    [TestCase("a/b", "x", false, "/a/b")]
    [TestCase("./a//b/", "x", false, "/a/b")]
    [TestCase("/docker/abc", "x", true, "/docker/abc")]
    public void Resolves(string? path, string id, bool abs, string expected)
    {
        var p = CgroupPath.Resolve(path, id);
        Assert.That(p.Absolute, Is.EqualTo(abs));
        Assert.That(p.Path, Is.EqualTo(expected));
    }

    [TestCase("../escape")]
    [TestCase("/a/../../b")]
    [TestCase("a/..")]
    [TestCase("/")]
    public void Rejects(string path)
    {
        var ex = Assert.Throws<RuncsException>(() => CgroupPath.Resolve(path, "id"));
        Assert.That(ex!.Message, Does.StartWith("invalid cgroupsPath"));
    }

    [Test]
    public void Systemd_driver_without_systemd_is_refused()
    {
        var ex = Assert.Throws<RuncsException>(() => CgroupPath.Resolve("system.slice:runcs:abc", "abc", true, "/nonexistent/systemd"));
        Assert.That(ex!.Message, Does.Contain("systemd is not running"));
        ex = Assert.Throws<RuncsException>(() => CgroupPath.Resolve("/not/systemd/form", "abc", true, "/nonexistent/systemd"));
        Assert.That(ex!.Message, Does.Contain("slice:prefix:name"));
    }

    [Test]
    public void Relative_path_joins_each_hierarchys_own_cgroup_absolute_is_under_the_mount()
    {
        using var h = FakeHost.Hybrid();
        var f = h.Factory();
        var rel = f.ForContainer("c1", "runcs/c1").Paths;
        Assert.That(rel["memory"], Is.EqualTo(h.P("memory/process_api/abc/runcs/c1")));
        Assert.That(rel["cpu"], Is.EqualTo(h.P("cpu/runcs/c1")));
        Assert.That(rel[""], Is.EqualTo(h.P("unified/runcs/c1")));
        Assert.That(rel.ContainsKey("name=systemd"), Is.False);
        var abs = f.ForContainer("c1", "/default/t9").Paths;
        Assert.That(abs["memory"], Is.EqualTo(h.P("memory/default/t9")));
        var empty = f.ForContainer("c1", null).Paths;
        Assert.That(empty["pids"], Is.EqualTo(h.P("pids/c1")));
    }

    [Test]
    public void Pure_v2_paths_have_only_the_unified_key()
    {
        using var h = FakeHost.V2();
        var paths = h.Factory().ForContainer("c1", null).Paths;
        Assert.That(paths, Is.EquivalentTo(new Dictionary<string, string> { [""] = h.P("runner/c1") }));
    }

    [Test]
    public void FromPaths_round_trips_the_state_file_paths()
    {
        using var h = FakeHost.Hybrid();
        var f = h.Factory();
        var m = f.ForContainer("c1", "x/c1");
        var again = f.FromPaths(m.Paths);
        Assert.That(again.Paths, Is.EquivalentTo(m.Paths));
    }
}
