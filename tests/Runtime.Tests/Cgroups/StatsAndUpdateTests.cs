using System.Text.Json;
using NUnit.Framework;
using Runcs.Cgroups;
using Runcs.Spec;

namespace Runcs.Tests.Cgroups;

public class StatsTests
{
    [Test]
    public void V1_stats_from_hybrid_files()
    {
        using var h = FakeHost.Hybrid();
        var m = h.Factory().ForContainer("c1", "s");
        m.Create();
        h.SetFile("cpuacct/s/cpuacct.usage", "123456789\n");
        h.SetFile("cpuacct/s/cpuacct.usage_percpu", "100 200 \n");
        h.SetFile("cpuacct/s/cpuacct.stat", "user 5\nsystem 3\n");
        h.SetFile("cpuacct/s/cpuacct.usage_all", "cpu user system\n0 10 20\n1 30 40\n");
        h.SetFile("cpu/s/cpu.stat", "nr_periods 7\nnr_throttled 2\nthrottled_time 999\n");
        h.SetFile("memory/process_api/abc/s/memory.usage_in_bytes", "4096\n");
        h.SetFile("memory/process_api/abc/s/memory.max_usage_in_bytes", "8192\n");
        h.SetFile("memory/process_api/abc/s/memory.limit_in_bytes", "1048576\n");
        h.SetFile("memory/process_api/abc/s/memory.stat", "cache 11\nrss 22\n");
        h.SetFile("memory/process_api/abc/s/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        h.SetFile("pids/s/pids.current", "4\n");
        h.SetFile("pids/s/pids.max", "max\n");
        h.SetFile("blkio/s/blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        h.SetFile("unified/s/hugetlb.2MB.current", "2097152\n");
        h.SetFile("unified/s/hugetlb.2MB.events", "max 1\n");
        var st = m.GetStats();
        Assert.That(st.Cpu.Usage.Total, Is.EqualTo(123456789));
        Assert.That(st.Cpu.Usage.Percpu, Is.EqualTo(new ulong[] { 100, 200 }));
        Assert.That(st.Cpu.Usage.User, Is.EqualTo(50_000_000));
        Assert.That(st.Cpu.Usage.Kernel, Is.EqualTo(30_000_000));
        Assert.That(st.Cpu.Usage.PercpuUser, Is.EqualTo(new ulong[] { 10, 30 }));
        Assert.That(st.Cpu.Throttling.ThrottledTime, Is.EqualTo(999));
        Assert.That(st.CpuSet.Cpus, Is.EqualTo(new ushort[] { 0, 1 }));
        Assert.That(st.Memory.Usage.Usage, Is.EqualTo(4096));
        Assert.That(st.Memory.Usage.Max, Is.EqualTo(8192));
        Assert.That(st.Memory.Usage.Limit, Is.EqualTo(1048576));
        Assert.That(st.Memory.Cache, Is.EqualTo(11));
        Assert.That(st.Memory.Raw!["rss"], Is.EqualTo(22));
        Assert.That(st.Pids.Current, Is.EqualTo(4));
        Assert.That(st.Pids.Limit, Is.EqualTo(0));
        Assert.That(st.Blkio.IoServiceBytesRecursive, Has.Count.EqualTo(2));
        Assert.That(st.Hugetlb.Keys, Is.EquivalentTo(new[] { "1GB", "2MB" }));
        Assert.That(st.Hugetlb["2MB"].Usage, Is.EqualTo(2097152));
        Assert.That(st.Hugetlb["2MB"].Failcnt, Is.EqualTo(1));
        Assert.That(m.OomKillCount(), Is.EqualTo(3));
    }

    [Test]
    public void V2_stats()
    {
        using var h = FakeHost.V2();
        var m = h.Factory().ForContainer("c1", "s");
        m.Create();
        h.SetFile("runner/s/cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 5\nnr_throttled 1\nthrottled_usec 7\n");
        h.SetFile("runner/s/memory.current", "100\n");
        h.SetFile("runner/s/memory.max", "1000\n");
        h.SetFile("runner/s/memory.swap.current", "10\n");
        h.SetFile("runner/s/memory.swap.max", "500\n");
        h.SetFile("runner/s/memory.stat", "anon 1\nfile 2\n");
        h.SetFile("runner/s/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
        h.SetFile("runner/s/io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        h.SetFile("runner/s/pids.current", "3\n");
        h.SetFile("runner/s/pids.max", "50\n");
        var st = m.GetStats();
        Assert.That(st.Cpu.Usage.Total, Is.EqualTo(1_000_000));
        Assert.That(st.Cpu.Usage.User, Is.EqualTo(600_000));
        Assert.That(st.Cpu.Throttling.ThrottledTime, Is.EqualTo(7000));
        Assert.That(st.Memory.Usage.Failcnt, Is.EqualTo(4));
        Assert.That(st.Memory.Swap.Usage, Is.EqualTo(110), "v1-compatible memory+swap");
        Assert.That(st.Memory.Swap.Limit, Is.EqualTo(1500));
        Assert.That(st.Memory.Cache, Is.EqualTo(2));
        Assert.That(st.Blkio.IoServiceBytesRecursive!.Select(e => $"{e.Major}:{e.Minor} {e.Op} {e.Value}"), Is.EqualTo(new[] { "8:0 Read 10", "8:0 Write 20" }));
        Assert.That(st.Blkio.IoServicedRecursive!.Select(e => e.Value), Is.EqualTo(new ulong[] { 1, 2 }));
        Assert.That(st.Pids.Limit, Is.EqualTo(50));
        Assert.That(m.OomKillCount(), Is.EqualTo(2));
    }

    [Test]
    public void Event_json_uses_runc_field_names_and_omissions()
    {
        var st = new CgroupStats();
        st.Cpu.Usage.Total = 5;
        st.Memory.Usage.Limit = 9;
        st.Hugetlb["2MB"] = new HugetlbStats { Usage = 1 };
        string json = JsonSerializer.Serialize(new CgroupEvent { Type = "stats", Id = "c1", Data = st }, CgroupsJson.Default.CgroupEvent);
        Assert.That(json, Is.EqualTo(
            "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{" +
            "\"cpu\":{\"usage\":{\"total\":5,\"kernel\":0,\"user\":0},\"throttling\":{}}," +
            "\"cpuset\":{\"cpu_exclusive\":0,\"mem_hardwall\":0,\"mem_exclusive\":0,\"memory_migrate\":0,\"memory_spread_page\":0,\"memory_spread_slab\":0,\"memory_pressure\":0,\"sched_load_balance\":0,\"sched_relax_domain_level\":0}," +
            "\"memory\":{\"usage\":{\"limit\":9,\"failcnt\":0},\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},\"kernelTCP\":{\"limit\":0,\"failcnt\":0}}," +
            "\"pids\":{},\"blkio\":{},\"hugetlb\":{\"2MB\":{\"usage\":1,\"failcnt\":0}},\"intel_rdt\":{},\"network_interfaces\":null}}"));
        string oom = JsonSerializer.Serialize(new CgroupEvent { Type = "oom", Id = "c1" }, CgroupsJson.Default.CgroupEvent);
        Assert.That(oom, Is.EqualTo("{\"type\":\"oom\",\"id\":\"c1\"}"));
    }

    [TestCase("0-3,7", new ushort[] { 0, 1, 2, 3, 7 })]
    [TestCase("5", new ushort[] { 5 })]
    public void Cpu_lists(string s, ushort[] expected) => Assert.That(CgroupManager.ParseCpuList(s), Is.EqualTo(expected));
}

public class UpdateFlagsTests
{
    [TestCase("100M", 104857600L)]
    [TestCase("100m", 104857600L)]
    [TestCase("1g", 1073741824L)]
    [TestCase("1.5G", 1610612736L)]
    [TestCase("512kb", 524288L)]
    [TestCase("2GiB", 2147483648L)]
    [TestCase("1000", 1000L)]
    [TestCase("10 MB", 10485760L)]
    [TestCase("-1", -1L)]
    public void Sizes(string s, long expected) => Assert.That(UpdateFlags.Size("memory", s), Is.EqualTo(expected));

    [TestCase("abc")]
    [TestCase("-2")]
    [TestCase("1X")]
    public void Bad_sizes(string s)
    {
        var ex = Assert.Throws<RuncsException>(() => UpdateFlags.Size("memory", s));
        Assert.That(ex!.Message, Is.EqualTo($"invalid value for memory: invalid size: '{s}'"));
    }

    [Test]
    public void Flags_to_resources()
    {
        var r = UpdateFlags.Parse(new Dictionary<string, string>
        {
            ["--memory"] = "256M", ["memory-swap"] = "512M", ["memory-reservation"] = "128M", ["cpu-share"] = "512",
            ["cpu-quota"] = "-1", ["cpu-period"] = "100000", ["cpuset-cpus"] = "0-1", ["cpuset-mems"] = "0", ["pids-limit"] = "20",
            ["blkio-weight"] = "300", ["cpu-rt-runtime"] = "1000", ["cpu-rt-period"] = "2000", ["kernel-memory"] = "1M",
        });
        Assert.That(r.Memory!.Limit, Is.EqualTo(268435456));
        Assert.That(r.Memory.Swap, Is.EqualTo(536870912));
        Assert.That(r.Memory.Reservation, Is.EqualTo(134217728));
        Assert.That(r.Memory.Kernel, Is.EqualTo(1048576));
        Assert.That(r.Cpu!.Shares, Is.EqualTo(512));
        Assert.That(r.Cpu.Quota, Is.EqualTo(-1));
        Assert.That(r.Cpu.Period, Is.EqualTo(100000));
        Assert.That(r.Cpu.Cpus, Is.EqualTo("0-1"));
        Assert.That(r.Cpu.RealtimeRuntime, Is.EqualTo(1000));
        Assert.That(r.Cpu.RealtimePeriod, Is.EqualTo(2000));
        Assert.That(r.Pids!.Limit, Is.EqualTo(20));
        Assert.That(r.BlockIO!.Weight, Is.EqualTo(300));
    }

    [Test]
    public void Bad_flags()
    {
        Assert.That(Assert.Throws<RuncsException>(() => UpdateFlags.Parse(new Dictionary<string, string> { ["cpu-share"] = "x" }))!.Message, Is.EqualTo("invalid value for cpu-share: \"x\""));
        Assert.That(Assert.Throws<RuncsException>(() => UpdateFlags.Parse(new Dictionary<string, string> { ["nope"] = "1" }))!.Message, Is.EqualTo("unknown update flag --nope"));
        Assert.That(Assert.Throws<RuncsException>(() => UpdateFlags.Parse(new Dictionary<string, string> { ["blkio-weight"] = "5" }))!.Message, Does.Contain("10-1000"));
        Assert.That(Assert.Throws<RuncsException>(() => UpdateFlags.Parse(new Dictionary<string, string> { ["l3-cache-schema"] = "L3:0=f" }))!.Message, Does.Contain("Intel RDT"));
    }

    [Test]
    public void Apply_merges_and_keeps_the_other_of_quota_and_period()
    {
        var current = new Resources
        {
            Cpu = new CpuResources { Quota = 50000, Period = 100000, Shares = 1024 },
            Memory = new MemoryResources { Limit = 1 << 30 },
            Devices = [new DeviceCgroup { Allow = false, Access = "rwm" }],
        };
        var (delta, merged) = UpdateFlags.Apply(new Dictionary<string, string> { ["cpu-period"] = "200000", ["memory"] = "-1" }, current);
        Assert.That(delta.Cpu!.Quota, Is.Null);
        Assert.That(delta.Memory!.Swap, Is.EqualTo(-1), "unlimited memory with no swap flag means unlimited swap");
        Assert.That(merged.Cpu!.Period, Is.EqualTo(200000));
        Assert.That(merged.Cpu.Quota, Is.EqualTo(50000));
        Assert.That(merged.Cpu.Shares, Is.EqualTo(1024));
        Assert.That(merged.Memory!.Limit, Is.EqualTo(-1));
        Assert.That(merged.Devices, Has.Count.EqualTo(1));
        Assert.That(current.Cpu.Period, Is.EqualTo(100000), "current is not modified");
    }

    [Test]
    public void Resources_json_like_runc_update_r()
    {
        var r = UpdateFlags.ParseResourcesJson("{\"memory\":{\"limit\":1048576},\"pids\":{\"limit\":10},\"unified\":{\"memory.high\":\"900000\"}}");
        Assert.That(r.Memory!.Limit, Is.EqualTo(1048576));
        Assert.That(r.Pids!.Limit, Is.EqualTo(10));
        Assert.That(r.Cpu, Is.Null);
        var merged = UpdateFlags.Merge(new Resources { Unified = new() { ["pids.max"] = "5" } }, r);
        Assert.That(merged.Unified, Is.EquivalentTo(new Dictionary<string, string> { ["pids.max"] = "5", ["memory.high"] = "900000" }));
        Assert.Throws<RuncsException>(() => UpdateFlags.ParseResourcesJson("{\"memory\":"));
    }
}
