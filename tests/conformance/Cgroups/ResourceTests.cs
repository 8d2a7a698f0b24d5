using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Cgroups;

/// <summary>
/// runtime-spec config-linux.md "Control groups" resources on this machine's real hybrid hierarchy:
/// each limit is read outside (the host's cgroup files, after `create`) and inside (the container's
/// /sys/fs/cgroup, bind-mounted from its own cgroups), then the container is deleted and no
/// directory may remain in any hierarchy.
/// </summary>
[TestFixture, NonParallelizable]
public class ResourceTests : CgFixture
{
    private const string DenyAll = """{"allow":false,"access":"rwm"}""";

    private static JsonObject Res(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>create (limits checked outside by <paramref name="outside"/>), start, wait stopped, delete, nothing left. Returns the container's stdout.</summary>
    private static string CreateCheckRun(Bundle b, string rel, Action outside)
    {
        var id = b.NewId("cg");
        var c = b.Create(id);
        Assert.That(c.ExitCode, Is.EqualTo(0), "create: " + c);
        outside();
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped", 20_000), Is.EqualTo("stopped"));
        var output = b.ContainerOutput(id);
        var d = b.Runcs("delete", id);
        Assert.That(d.ExitCode, Is.EqualTo(0), "delete: " + d);
        AssertGone(rel, "after delete");
        return output;
    }

    [Test, Description("config-linux.md Memory: limit, reservation, swap (v1 memory.limit_in_bytes, soft_limit_in_bytes, memsw.limit_in_bytes)")]
    public void Memory_LimitReservationSwap_VisibleInsideAndOutside()
    {
        var rel = NewPath("mem");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":67108864,"reservation":33554432,"swap":100663296},"devices":[{{DenyAll}}]}"""));
        b.Sh("cd /sys/fs/cgroup/memory && cat memory.limit_in_bytes memory.soft_limit_in_bytes memory.memsw.limit_in_bytes");
        var dir = CgHost.V1Dir("memory", rel);
        var output = CreateCheckRun(b, rel, () =>
        {
            Assert.That(CgHost.Read(dir, "memory.limit_in_bytes"), Is.EqualTo("67108864"));
            Assert.That(CgHost.Read(dir, "memory.soft_limit_in_bytes"), Is.EqualTo("33554432"));
            Assert.That(CgHost.Read(dir, "memory.memsw.limit_in_bytes"), Is.EqualTo("100663296"));
        });
        Assert.That(LcLines(output), Is.EqualTo(new[] { "67108864", "33554432", "100663296" }), output);
    }

    [Test, Description("config-linux.md CPU: shares, quota, period, cpus, mems (v1 cpu + cpuset)")]
    public void Cpu_SharesQuotaPeriodCpusetCpusMems_VisibleInsideAndOutside()
    {
        var rel = NewPath("cpu");
        // The last CPU the host's cpuset offers (1 on the 2-core dev machine), memory node 0.
        var hostCpus = CgHost.Read(CgHost.V1("cpuset")!.OwnDir, "cpuset.cpus");
        var cpu = hostCpus.Split(',', '-').Last();
        using var b = NewBundle(rel, Res($$"""{"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"{{cpu}}","mems":"0"},"devices":[{{DenyAll}}]}"""));
        b.Sh("cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us " +
             "/sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpuset/cpuset.mems; nproc; grep Cpus_allowed_list /proc/self/status");
        var output = CreateCheckRun(b, rel, () =>
        {
            var cd = CgHost.V1Dir("cpu", rel);
            Assert.That(CgHost.Read(cd, "cpu.shares"), Is.EqualTo("512"));
            Assert.That(CgHost.Read(cd, "cpu.cfs_quota_us"), Is.EqualTo("50000"));
            Assert.That(CgHost.Read(cd, "cpu.cfs_period_us"), Is.EqualTo("100000"));
            var sd = CgHost.V1Dir("cpuset", rel);
            Assert.That(CgHost.Read(sd, "cpuset.cpus"), Is.EqualTo(cpu));
            Assert.That(CgHost.Read(sd, "cpuset.mems"), Is.EqualTo("0"));
        });
        var lines = LcLines(output);
        Assert.That(lines.Take(5), Is.EqualTo(new[] { "512", "50000", "100000", cpu, "0" }), output);
        Assert.That(lines[5], Is.EqualTo("1"), "nproc inside the container (sched affinity from the cpuset)");
        Assert.That(lines[6], Does.Match(@"^Cpus_allowed_list:\s+" + cpu + "$"));
    }

    [Test, Description("config-linux.md CPU: burst, idle, realtimeRuntime/realtimePeriod (v1 cpu.cfs_burst_us, cpu.idle, cpu.rt_*; rt written before the pid joins)")]
    public void Cpu_BurstIdleRealtime_VisibleOutside()
    {
        var rel = NewPath("cpux");
        var own = CgHost.V1("cpu")!.OwnDir;
        if (!File.Exists(Path.Combine(own, "cpu.cfs_burst_us")) || !File.Exists(Path.Combine(own, "cpu.rt_runtime_us")) || !File.Exists(Path.Combine(own, "cpu.idle")))
            Assert.Ignore("this kernel lacks cpu.cfs_burst_us / cpu.idle / cpu.rt_runtime_us");
        using var b = NewBundle(rel, Res($$"""{"cpu":{"quota":50000,"period":100000,"burst":10000,"idle":1,"realtimeRuntime":10000,"realtimePeriod":1000000},"devices":[{{DenyAll}}]}"""));
        b.Sh("cat /sys/fs/cgroup/cpu/cpu.cfs_burst_us /sys/fs/cgroup/cpu/cpu.idle /sys/fs/cgroup/cpu/cpu.rt_runtime_us");
        var dir = CgHost.V1Dir("cpu", rel);
        var output = CreateCheckRun(b, rel, () =>
        {
            Assert.That(CgHost.Read(dir, "cpu.cfs_burst_us"), Is.EqualTo("10000"));
            Assert.That(CgHost.Read(dir, "cpu.idle"), Is.EqualTo("1"));
            Assert.That(CgHost.Read(dir, "cpu.rt_runtime_us"), Is.EqualTo("10000"));
            Assert.That(CgHost.Read(dir, "cpu.rt_period_us"), Is.EqualTo("1000000"));
        });
        Assert.That(LcLines(output), Is.EqualTo(new[] { "10000", "1", "10000" }), output);
    }

    [Test, Description("config-linux.md Memory: swappiness, disableOOMKiller (v1 memory.swappiness, memory.oom_control)")]
    public void Memory_SwappinessAndDisableOomKiller_VisibleInsideAndOutside()
    {
        var rel = NewPath("memx");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":67108864,"swappiness":10,"disableOOMKiller":true},"devices":[{{DenyAll}}]}"""));
        b.Sh("cat /sys/fs/cgroup/memory/memory.swappiness; grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control");
        var dir = CgHost.V1Dir("memory", rel);
        var output = CreateCheckRun(b, rel, () =>
        {
            Assert.That(CgHost.Read(dir, "memory.swappiness"), Is.EqualTo("10"));
            Assert.That(CgHost.Read(dir, "memory.oom_control"), Does.Contain("oom_kill_disable 1"));
        });
        Assert.That(LcLines(output), Is.EqualTo(new[] { "10", "oom_kill_disable 1" }), output);
    }

    [Test, Description("config-linux.md Unified: on this hybrid host keys of the cgroup2-owned controllers (hugetlb) are written; others are a clear error")]
    public void Unified_OnHybrid_HugetlbKeyWritten_OtherKeysRefused()
    {
        var rel = NewPath("uni");
        using (var b = NewBundle(rel, Res($$"""{"unified":{"hugetlb.2MB.max":"2097152"},"devices":[{{DenyAll}}]}""")))
        {
            b.Sh("cat /sys/fs/cgroup/unified/hugetlb.2MB.max");
            var output = CreateCheckRun(b, rel, () => Assert.That(CgHost.Read(CgHost.UnifiedDir(rel), "hugetlb.2MB.max"), Is.EqualTo("2097152")));
            Assert.That(output.Trim(), Is.EqualTo("2097152"));
        }
        var rel2 = NewPath("uni");
        using var b2 = NewBundle(rel2, Res($$"""{"unified":{"memory.max":"67108864"},"devices":[{{DenyAll}}]}"""));
        b2.Args("true");
        var c = b2.Create(b2.NewId("un"));
        Assert.That(c.ExitCode, Is.Not.EqualTo(0), c.ToString());
        Assert.That(c.Stderr, Does.Contain("memory.max").And.Contain("not on the cgroup v2 mount"), c.ToString());
        AssertGone(rel2, "after the refused create");
    }

    [Test, Description("config-linux.md PIDs: limit (v1 pids.max)")]
    public void Pids_Limit_VisibleInsideAndOutside()
    {
        var rel = NewPath("pids");
        using var b = NewBundle(rel, Res($$"""{"pids":{"limit":20},"devices":[{{DenyAll}}]}"""));
        b.Sh("cat /sys/fs/cgroup/pids/pids.max");
        var output = CreateCheckRun(b, rel, () => Assert.That(CgHost.Read(CgHost.V1Dir("pids", rel), "pids.max"), Is.EqualTo("20")));
        Assert.That(output.Trim(), Is.EqualTo("20"));
    }

    [Test, Description("config-linux.md Block IO: weight (v1 blkio.weight / blkio.bfq.weight) — set when the host's IO scheduler has weights, else a clear error and nothing left")]
    public void BlockIO_Weight_SetOrClearErrorWhenTheHostHasNoWeights()
    {
        var rel = NewPath("blkw");
        using var b = NewBundle(rel, Res($$"""{"blockIO":{"weight":500},"devices":[{{DenyAll}}]}"""));
        b.Sh("true");
        var own = CgHost.V1("blkio")!.OwnDir;
        // The root blkio cgroup has no weight files even when the IO scheduler (BFQ) gives children one: probe a child.
        var probe = Path.Combine(own, NewPath("probe"));
        Directory.CreateDirectory(probe);
        bool hostHasWeights = File.Exists(Path.Combine(probe, "blkio.weight")) || File.Exists(Path.Combine(probe, "blkio.bfq.weight"));
        Directory.Delete(probe);
        var id = b.NewId("cg");
        var c = b.Create(id);
        if (hostHasWeights)
        {
            Assert.That(c.ExitCode, Is.EqualTo(0), c.ToString());
            var dir = CgHost.V1Dir("blkio", rel);
            var f = File.Exists(Path.Combine(dir, "blkio.weight")) ? "blkio.weight" : "blkio.bfq.weight";
            Assert.That(CgHost.Read(dir, f), Does.Contain("500"));
            Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        }
        else
        {
            Assert.That(c.ExitCode, Is.Not.EqualTo(0), "blkio weight on a host without weights must fail: " + c);
            Assert.That(c.Stderr, Does.Contain("blockIO weight").And.Contain("blkio.weight"), c.ToString());
            Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state left after the failed create");
        }
        AssertGone(rel, hostHasWeights ? "after delete" : "after the failed create");
    }

    [Test, Description("config-linux.md Block IO: throttleReadBpsDevice / throttleWriteIOPSDevice (v1 blkio.throttle.*)")]
    public void BlockIO_Throttle_VisibleOutside()
    {
        // The first real block device (not loop/zram): its major:minor as the kernel checks it exists.
        var dev = Directory.GetDirectories("/sys/block").Select(Path.GetFileName).FirstOrDefault(n => n!.StartsWith("vd") || n.StartsWith("sd") || n.StartsWith("nvme"));
        if (dev == null) Assert.Ignore("no disk in /sys/block");
        var mm = File.ReadAllText($"/sys/block/{dev}/dev").Trim().Split(':');
        var rel = NewPath("blkt");
        using var b = NewBundle(rel, Res($$"""
            {"blockIO":{"throttleReadBpsDevice":[{"major":{{mm[0]}},"minor":{{mm[1]}},"rate":1048576}],
                        "throttleWriteIOPSDevice":[{"major":{{mm[0]}},"minor":{{mm[1]}},"rate":100}]},"devices":[{{DenyAll}}]}
            """));
        b.Sh("cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device");
        var dir = CgHost.V1Dir("blkio", rel);
        var output = CreateCheckRun(b, rel, () =>
        {
            Assert.That(CgHost.Read(dir, "blkio.throttle.read_bps_device"), Is.EqualTo($"{mm[0]}:{mm[1]} 1048576"));
            Assert.That(CgHost.Read(dir, "blkio.throttle.write_iops_device"), Is.EqualTo($"{mm[0]}:{mm[1]} 100"));
        });
        Assert.That(LcLines(output), Is.EqualTo(new[] { $"{mm[0]}:{mm[1]} 1048576", $"{mm[0]}:{mm[1]} 100" }));
    }

    [Test, Description("config-linux.md Huge page limits: on this hybrid host hugetlb is owned by the cgroup2 mount (hugetlb.<size>.max, .rsvd.max)")]
    public void Hugetlb_Limit_OnTheUnifiedHierarchy_VisibleInsideAndOutside()
    {
        if (!File.Exists("/sys/fs/cgroup/unified/cgroup.controllers") || !File.ReadAllText("/sys/fs/cgroup/unified/cgroup.controllers").Contains("hugetlb"))
            Assert.Ignore("the cgroup2 mount does not own hugetlb here");
        if (!Directory.Exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) Assert.Ignore("no 2MB huge pages");
        var rel = NewPath("huge");
        using var b = NewBundle(rel, Res($$"""{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],"devices":[{{DenyAll}}]}"""));
        b.Sh("cat /sys/fs/cgroup/unified/hugetlb.2MB.max /sys/fs/cgroup/unified/hugetlb.2MB.rsvd.max; grep '^0::' /proc/self/cgroup");
        var dir = CgHost.UnifiedDir(rel);
        var output = CreateCheckRun(b, rel, () =>
        {
            Assert.That(CgHost.Read(dir, "hugetlb.2MB.max"), Is.EqualTo("4194304"));
            Assert.That(CgHost.Read(dir, "hugetlb.2MB.rsvd.max"), Is.EqualTo("4194304"));
            // The v1 side has no hugetlb hierarchy to write to.
            Assert.That(CgHost.V1("hugetlb"), Is.Null);
        });
        var lines = LcLines(output);
        Assert.That(lines.Take(2), Is.EqualTo(new[] { "4194304", "4194304" }), output);
        Assert.That(lines[2], Is.EqualTo("0::" + (dir["/sys/fs/cgroup/unified".Length..])), "init's cgroup2 path");
    }

    [Test, Description("config-linux.md Allowed Device list + Devices: a device created through linux.devices but denied by a rule cannot be opened; v1 devices.list shows the rules")]
    public void Devices_DeniedDeviceCannotBeOpened_ListVisibleOutside()
    {
        var rel = NewPath("dev");
        using var b = NewBundle(rel, Res("""
            {"devices":[{"allow":false,"access":"rwm"},
                        {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"},
                        {"allow":false,"type":"c","major":10,"minor":229,"access":"rwm"}]}
            """));
        AddFuse(b);
        b.Sh("head -c1 /dev/fuse 2>&1; echo fuse=$?; head -c1 /dev/null && echo null-ok; head -c3 /dev/zero | wc -c");
        var output = CreateCheckRun(b, rel, () => AssertDeviceList(CgHost.V1Dir("devices", rel)));
        Assert.That(output, Does.Contain("/dev/fuse: Operation not permitted").And.Contain("fuse=1"), output);
        Assert.That(output, Does.Contain("null-ok"), output);
        Assert.That(LcLines(output).Last(), Is.EqualTo("3"), output);
    }

    [TestCase("docker-run.json")]
    [TestCase("podman-run.json")]
    [TestCase("containerd-ctr-run.json")]
    [Description("config-linux.md Control groups: the real-world managers' linux.resources blocks apply without error; their device rules deny an extra device")]
    public void RealWorld_ResourcesBlock_AppliedAndDevicesEnforced(string file)
    {
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(Env.Repo, "..", "shared", "real-world-configs", file)))!;
        var resources = cfg["linux"]!["resources"]!.DeepClone().AsObject();
        var rel = NewPath("rw");
        using var b = NewBundle(rel, resources);
        AddFuse(b);
        b.Sh("head -c1 /dev/fuse 2>&1; echo fuse=$?; head -c1 /dev/null && echo null-ok; head -c3 /dev/urandom | wc -c");
        var output = CreateCheckRun(b, rel, () =>
        {
            AssertDeviceList(CgHost.V1Dir("devices", rel));
            if (resources["pids"]?["limit"] is { } pl)
                Assert.That(CgHost.Read(CgHost.V1Dir("pids", rel), "pids.max"), Is.EqualTo(pl.ToString()));
            if (resources["cpu"]?["shares"] is { } sh && sh.GetValue<long>() != 0)
                Assert.That(CgHost.Read(CgHost.V1Dir("cpu", rel), "cpu.shares"), Is.EqualTo(sh.ToString()));
            // Docker's zero shares / weight mean "not set": the kernel default stays.
            if (resources["cpu"]?["shares"] is { } z && z.GetValue<long>() == 0)
                Assert.That(CgHost.Read(CgHost.V1Dir("cpu", rel), "cpu.shares"), Is.EqualTo("1024"));
        });
        Assert.That(output, Does.Contain("/dev/fuse: Operation not permitted").And.Contain("fuse=1"), output);
        Assert.That(output, Does.Contain("null-ok"), output);
        Assert.That(LcLines(output).Last(), Is.EqualTo("3"), "/dev/urandom readable: " + output);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>/dev/fuse (c 10:229, mode 0666) created in the container through linux.devices.</summary>
    private static void AddFuse(Bundle b)
    {
        if (b.Linux["devices"] is not JsonArray devs) b.Linux["devices"] = devs = new JsonArray();
        devs.Add(JsonNode.Parse("""{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0}"""));
    }

    /// <summary>devices.list: no "a *:*" (everything allowed), no fuse, runc's defaults (null, zero, urandom, ptys) present.</summary>
    private static void AssertDeviceList(string dir)
    {
        var list = LcLines(CgHost.Read(dir, "devices.list"));
        Assert.That(list, Has.None.StartWith("a "), "deny-all first: " + string.Join(" | ", list));
        Assert.That(list, Has.None.StartWith("c 10:229"), "fuse denied: " + string.Join(" | ", list));
        Assert.That(list, Does.Contain("c 1:3 rwm").And.Contain("c 1:5 rwm").And.Contain("c 1:9 rwm"), string.Join(" | ", list));
    }

    internal static string[] LcLines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
