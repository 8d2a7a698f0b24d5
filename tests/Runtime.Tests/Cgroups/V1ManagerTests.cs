using NUnit.Framework;
using Runcs.Cgroups;
using Runcs.Spec;

namespace Runcs.Tests.Cgroups;

/// <summary>Writes on a hybrid host (v1 controllers, hugetlb on the unified mount) and a pure v1 host.</summary>
public class V1ManagerTests
{
    private FakeHost _h = null!;
    private ICgroupManager _m = null!;

    [SetUp]
    public void SetUp()
    {
        _h = FakeHost.Hybrid();
        _m = _h.Factory().ForContainer("c1", "runcs/c1");
    }

    [TearDown]
    public void TearDown() => _h.Dispose();

    private void Clear() => _h.Fs.Log.Clear();

    [Test]
    public void Apply_creates_every_hierarchy_copies_cpuset_and_joins_the_pid()
    {
        _m.Apply(4242);
        foreach (var c in FakeHost.HostV1)
            Assert.That(Directory.Exists(_m.Paths[c]), c);
        Assert.That(_h.ReadFile("cpuset/runcs/c1/cpuset.cpus"), Is.EqualTo("0-1"));
        Assert.That(_h.ReadFile("cpuset/runcs/c1/cpuset.mems"), Is.EqualTo("0"));
        Assert.That(_h.ReadFile("cpuset/runcs/cpuset.cpus"), Is.EqualTo("0-1"), "intermediate levels are filled too");
        Assert.That(_h.ReadFile("memory/process_api/abc/runcs/c1/cgroup.procs").Trim(), Is.EqualTo("4242"));
        Assert.That(_h.ReadFile("unified/runcs/c1/cgroup.procs").Trim(), Is.EqualTo("4242"));
        var w = _h.Writes;
        int cpusetCopy = w.IndexOf("cpuset/runcs/c1/cpuset.cpus=0-1");
        int join = w.IndexOf("cpuset/runcs/c1/cgroup.procs=4242");
        Assert.That(cpusetCopy, Is.GreaterThanOrEqualTo(0).And.LessThan(join), "cpuset filled before the pid joins");
        Assert.That(w.Count(x => x.EndsWith("cgroup.procs=4242")), Is.EqualTo(FakeHost.HostV1.Length + 1));
    }

    [Test]
    public void Unified_mount_gets_hugetlb_enabled_in_subtree_control_of_ancestors()
    {
        _m.Create();
        Assert.That(_h.ReadFile("unified/cgroup.subtree_control").Trim(), Is.EqualTo("hugetlb"));
        Assert.That(_h.ReadFile("unified/runcs/cgroup.subtree_control").Trim(), Is.EqualTo("hugetlb"));
        Assert.That(_h.ReadFile("unified/runcs/c1/cgroup.subtree_control").Trim(), Is.EqualTo(""), "the leaf enables nothing");
        Assert.That(_h.ReadFile("unified/runcs/c1/cgroup.controllers").Trim(), Is.EqualTo("hugetlb"));
    }

    [Test]
    public void Realtime_budget_is_written_before_the_pid_joins()
    {
        _m.Apply(7, new Resources { Cpu = new CpuResources { RealtimePeriod = 1000000, RealtimeRuntime = 950000 } });
        var w = _h.Writes;
        Assert.That(w.IndexOf("cpu/runcs/c1/cpu.rt_period_us=1000000"), Is.LessThan(w.IndexOf("cpu/runcs/c1/cpu.rt_runtime_us=950000")));
        Assert.That(w.IndexOf("cpu/runcs/c1/cpu.rt_runtime_us=950000"), Is.LessThan(w.IndexOf("cpu/runcs/c1/cgroup.procs=7")));
    }

    [Test]
    public void Memory_limit_raise_writes_memsw_first()
    {
        _m.Create();
        _h.SetFile("memory/process_api/abc/runcs/c1/memory.limit_in_bytes", "104857600\n");
        Clear();
        _m.Update(new Resources { Memory = new MemoryResources { Limit = 209715200, Swap = 314572800 } });
        Assert.That(_h.Writes, Is.EqualTo(new[]
        {
            "memory/process_api/abc/runcs/c1/memory.memsw.limit_in_bytes=314572800",
            "memory/process_api/abc/runcs/c1/memory.limit_in_bytes=209715200",
        }));
    }

    [Test]
    public void Memory_limit_lowering_writes_limit_first()
    {
        _m.Create();
        _h.SetFile("memory/process_api/abc/runcs/c1/memory.limit_in_bytes", "536870912\n");
        Clear();
        _m.Update(new Resources { Memory = new MemoryResources { Limit = 104857600, Swap = 209715200 } });
        Assert.That(_h.WritesTo("memory.limit_in_bytes").Concat(_h.WritesTo("memory.memsw.limit_in_bytes")), Is.EqualTo(new[] { "104857600", "209715200" }));
        Assert.That(_h.Writes[0], Does.EndWith("memory.limit_in_bytes=104857600"));
    }

    [Test]
    public void Unlimited_memory_without_swap_sets_memsw_unlimited_first()
    {
        _m.Create(); Clear();
        _m.Set(new Resources { Memory = new MemoryResources { Limit = -1 } });
        Assert.That(_h.Writes.Where(w => w.Contains("memory.")), Is.EqualTo(new[]
        {
            "memory/process_api/abc/runcs/c1/memory.memsw.limit_in_bytes=-1",
            "memory/process_api/abc/runcs/c1/memory.limit_in_bytes=-1",
        }));
    }

    [Test]
    public void Memory_other_fields()
    {
        _m.Create(); Clear();
        _m.Set(new Resources
        {
            Memory = new MemoryResources
            {
                Limit = 1 << 30, Reservation = 1 << 29, Swappiness = 10, DisableOOMKiller = true, KernelTCP = 1 << 20, Kernel = 1 << 21, UseHierarchy = true,
            },
        });
        string d = "memory/process_api/abc/runcs/c1/";
        Assert.That(_h.ReadFile(d + "memory.limit_in_bytes"), Is.EqualTo("1073741824"));
        Assert.That(_h.ReadFile(d + "memory.soft_limit_in_bytes"), Is.EqualTo("536870912"));
        Assert.That(_h.ReadFile(d + "memory.swappiness"), Is.EqualTo("10"));
        Assert.That(_h.ReadFile(d + "memory.oom_control"), Is.EqualTo("1"));
        Assert.That(_h.ReadFile(d + "memory.kmem.tcp.limit_in_bytes"), Is.EqualTo("1048576"));
        Assert.That(_h.ReadFile(d + "memory.kmem.limit_in_bytes"), Is.EqualTo("2097152"));
        Assert.That(_h.ReadFile(d + "memory.use_hierarchy"), Is.EqualTo("1"));
    }

    [Test]
    public void Kernel_memory_is_skipped_with_a_note_when_the_kernel_lacks_or_refuses_it()
    {
        _h.Omit.Add("memory.kmem.limit_in_bytes");
        _m.Create(); Clear();
        _m.Set(new Resources { Memory = new MemoryResources { Kernel = 1 << 20 } });
        Assert.That(_h.WritesTo("memory.kmem.limit_in_bytes"), Is.Empty);
        Assert.That(_h.DebugNotes, Has.Some.Contains("memory.kernel ignored"));
        _h.Fs.FailWith["memory.kmem.tcp.limit_in_bytes"] = CgroupFs.EOPNOTSUPP;
        Assert.DoesNotThrow(() => _m.Update(new Resources { Memory = new MemoryResources { KernelTCP = 1 << 20 } }));
        Assert.That(_h.DebugNotes, Has.Some.Contains("memory.kernelTCP ignored"));
    }

    [Test]
    public void Swap_without_swap_accounting()
    {
        _h.Omit.Add("memory.memsw.limit_in_bytes");
        _m.Create();
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Memory = new MemoryResources { Limit = 100, Swap = 200 } }));
        Assert.That(ex!.Message, Does.Contain("swap accounting"));
        Clear();
        _m.Set(new Resources { Memory = new MemoryResources { Limit = 1000, Swap = -1 } });
        Assert.That(_h.WritesTo("memory.limit_in_bytes"), Is.EqualTo(new[] { "1000" }));
        Assert.That(_h.WritesTo("memory.memsw.limit_in_bytes"), Is.Empty);
    }

    [Test]
    public void Swappiness_above_100_is_refused()
    {
        _m.Create();
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Memory = new MemoryResources { Swappiness = 101 } }));
        Assert.That(ex!.Message, Is.EqualTo("invalid memory swappiness value: 101 (valid range is 0-100)"));
    }

    [Test]
    public void Memory_limit_below_usage_reports_usage()
    {
        _m.Create();
        _h.SetFile("memory/process_api/abc/runcs/c1/memory.usage_in_bytes", "5000\n");
        _h.Fs.FailWith["memory.limit_in_bytes"] = CgroupFs.EBUSY;
        var ex = Assert.Throws<RuncsException>(() => _m.Update(new Resources { Memory = new MemoryResources { Limit = 100 } }));
        Assert.That(ex!.Message, Does.Contain("unable to set memory limit to 100 (current usage: 5000"));
    }

    [Test]
    public void Cpu_writes_in_runc_order()
    {
        _m.Create(); Clear();
        _m.Set(new Resources { Cpu = new CpuResources { Shares = 512, Period = 50000, Quota = 25000, Burst = 1000, Idle = 1, Cpus = "1", Mems = "0" } });
        string d = "cpu/runcs/c1/";
        Assert.That(_h.Writes.Where(w => w.StartsWith(d)), Is.EqualTo(new[]
        {
            d + "cpu.shares=512", d + "cpu.cfs_period_us=50000", d + "cpu.cfs_quota_us=25000", d + "cpu.cfs_burst_us=1000", d + "cpu.idle=1",
        }));
        Assert.That(_h.ReadFile("cpuset/runcs/c1/cpuset.cpus"), Is.EqualTo("1"));
        Assert.That(_h.ReadFile("cpuset/runcs/c1/cpuset.mems"), Is.EqualTo("0"));
    }

    [Test]
    public void Zero_shares_and_weight_as_docker_sends_are_not_written()
    {
        _m.Create(); Clear();
        _m.Update(new Resources { Cpu = new CpuResources { Shares = 0 }, BlockIO = new BlockIO { Weight = 0 }, Memory = new MemoryResources { DisableOOMKiller = false } });
        Assert.That(_h.Writes, Is.Empty);
    }

    [TestCase(-1, "max")]
    [TestCase(0, "max")]
    [TestCase(100, "100")]
    public void Pids_limit(long limit, string expected)
    {
        _m.Create(); Clear();
        _m.Update(new Resources { Pids = new PidsResources { Limit = limit } });
        Assert.That(_h.Writes, Is.EqualTo(new[] { "pids/runcs/c1/pids.max=" + expected }));
    }

    [Test]
    public void Blkio_weight_devices_and_throttles()
    {
        _m.Create(); Clear();
        _m.Set(new Resources
        {
            BlockIO = new BlockIO
            {
                Weight = 300, LeafWeight = 200,
                WeightDevice = [new WeightDevice { Major = 8, Minor = 0, Weight = 500, LeafWeight = 300 }],
                ThrottleReadBpsDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 }],
                ThrottleWriteBpsDevice = [new ThrottleDevice { Major = 8, Minor = 16, Rate = 2097152 }],
                ThrottleReadIOPSDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 100 }],
                ThrottleWriteIOPSDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 200 }],
            },
        });
        string d = "blkio/runcs/c1/";
        Assert.That(_h.Writes.Where(w => w.StartsWith(d)), Is.EqualTo(new[]
        {
            d + "blkio.weight=300", d + "blkio.leaf_weight=200", d + "blkio.weight_device=8:0 500", d + "blkio.leaf_weight_device=8:0 300",
            d + "blkio.throttle.read_bps_device=8:0 1048576", d + "blkio.throttle.write_bps_device=8:16 2097152",
            d + "blkio.throttle.read_iops_device=8:0 100", d + "blkio.throttle.write_iops_device=8:0 200",
        }));
    }

    [Test]
    public void Blkio_weight_falls_back_to_bfq_and_errors_without_either()
    {
        _h.Omit.Add("blkio.weight");
        _m.Create();
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { BlockIO = new BlockIO { Weight = 300 } }));
        Assert.That(ex!.Message, Does.Contain("blkio.bfq.weight"));
        _h.SetFile("blkio/runcs/c1/blkio.bfq.weight", "100\n");
        _h.SetFile("blkio/runcs/c1/blkio.bfq.weight_device", "");
        Clear();
        _m.Set(new Resources { BlockIO = new BlockIO { Weight = 300, WeightDevice = [new WeightDevice { Major = 8, Minor = 0, Weight = 50 }] } });
        Assert.That(_h.Writes.Where(w => w.Contains("blkio")), Is.EqualTo(new[] { "blkio/runcs/c1/blkio.bfq.weight=300", "blkio/runcs/c1/blkio.bfq.weight_device=8:0 50" }));
    }

    [Test]
    public void Hugetlb_goes_to_the_unified_mount_on_this_hybrid_layout()
    {
        _m.Create(); Clear();
        _m.Set(new Resources { HugepageLimits = [new HugepageLimit { PageSize = "2MB", Limit = 4194304 }] });
        Assert.That(_h.Writes.Where(w => w.Contains("hugetlb")), Is.EqualTo(new[] { "unified/runcs/c1/hugetlb.2MB.max=4194304", "unified/runcs/c1/hugetlb.2MB.rsvd.max=4194304" }));
    }

    [TestCase("2M", "invalid hugepageLimits pageSize")]
    [TestCase("64KB", "not supported")]
    public void Hugetlb_bad_sizes(string size, string msg)
    {
        _m.Create();
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { HugepageLimits = [new HugepageLimit { PageSize = size, Limit = 1 }] }));
        Assert.That(ex!.Message, Does.Contain(msg));
    }

    [Test]
    public void Missing_controllers_are_errors_only_when_set()
    {
        _m.Create();
        Assert.DoesNotThrow(() => _m.Set(new Resources { Network = new NetworkResources() }));
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Network = new NetworkResources { ClassID = 0x100001 } }));
        Assert.That(ex!.Message, Is.EqualTo("cannot set network.classID: the net_cls cgroup controller is not available on this host"));
        ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Network = new NetworkResources { Priorities = [new InterfacePriority { Name = "eth0", Priority = 5 }] } }));
        Assert.That(ex!.Message, Does.Contain("net_prio"));
        ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Rdma = new() { ["mlx5_0"] = new RdmaResource { HcaHandles = 1 } } }));
        Assert.That(ex!.Message, Does.Contain("rdma"));
    }

    [Test]
    public void Unified_on_hybrid_accepts_only_keys_of_unified_owned_controllers()
    {
        _m.Create(); Clear();
        _m.Set(new Resources { Unified = new() { ["hugetlb.1GB.max"] = "1073741824" } });
        Assert.That(_h.Writes, Does.Contain("unified/runcs/c1/hugetlb.1GB.max=1073741824"));
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Unified = new() { ["memory.high"] = "1000" } }));
        Assert.That(ex!.Message, Does.Contain("memory controller is not on the cgroup v2 mount"));
    }

    [Test]
    public void Devices_v1_deny_all_first_then_rules_in_order_then_defaults()
    {
        _m.Create(); Clear();
        _m.Set(new Resources
        {
            Devices =
            [
                new DeviceCgroup { Allow = false, Access = "rwm" },
                new DeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rw" },
                new DeviceCgroup { Allow = false, Type = "c", Major = 10, Minor = 229, Access = "rwm" },
                new DeviceCgroup { Allow = true, Type = "b", Major = 8, Access = "r" },
            ],
        });
        var seq = _h.Fs.Log.Where(w => w.Path.Contains("devices.")).Select(w => Path.GetFileName(w.Path) + ":" + w.Value).ToList();
        Assert.That(seq.Take(5), Is.EqualTo(new[]
        {
            "devices.deny:a *:* rwm", "devices.deny:a *:* rwm", "devices.allow:c 1:3 rw", "devices.deny:c 10:229 rwm", "devices.allow:b 8:* r",
        }));
        Assert.That(seq.Skip(5), Is.EqualTo(DeviceRules.RuncDefaults.Select(r => "devices.allow:" + r.V1Line)));
        Assert.That(seq[5], Is.EqualTo("devices.allow:c *:* m"));
    }

    [Test]
    public void Update_without_devices_leaves_device_rules_alone()
    {
        _m.Create(); Clear();
        _m.Update(new Resources { Pids = new PidsResources { Limit = 5 } });
        Assert.That(_h.Writes.Any(w => w.Contains("devices.")), Is.False);
    }

    [Test]
    public void Set_with_no_resources_still_writes_default_device_rules()
    {
        _m.Create(); Clear();
        _m.Set(null);
        Assert.That(_h.WritesTo("devices.deny"), Is.EqualTo(new[] { "a *:* rwm" }));
        Assert.That(_h.WritesTo("devices.allow"), Has.Count.EqualTo(DeviceRules.RuncDefaults.Count));
        Assert.That(_h.Writes.Count, Is.EqualTo(1 + DeviceRules.RuncDefaults.Count));
    }

    [Test]
    public void Freeze_and_thaw_v1()
    {
        _m.Create();
        _m.Freeze();
        Assert.That(_h.ReadFile("freezer/runcs/c1/freezer.state"), Is.EqualTo("FROZEN"));
        Assert.That(_m.GetFreezerState(), Is.EqualTo(FreezerState.Frozen));
        _m.Thaw();
        Assert.That(_m.GetFreezerState(), Is.EqualTo(FreezerState.Thawed));
    }

    [Test]
    public void Freeze_times_out_and_thaws_when_the_kernel_never_reports_frozen()
    {
        _m.Create();
        _h.Fs.FailWith.Clear();
        var stuck = new StuckFreezerFs();
        // Simulate FREEZING forever by rewriting the state after each write: use a manager on a wrapper fs.
        _h.SetFile("freezer/runcs/c1/freezer.state", "FREEZING\n");
        var m2 = new CgroupManagerFactory(_h.Host, stuck).ForContainer("c1", "runcs/c1");
        var ex = Assert.Throws<RuncsException>(() => m2.Freeze(TimeSpan.FromMilliseconds(150)));
        Assert.That(ex!.Message, Does.Contain("still FREEZING"));
        Assert.That(stuck.Last, Is.EqualTo("THAWED"));
    }

    private sealed class StuckFreezerFs : CgroupFs
    {
        public string? Last;
        public override void Write(string path, string value) { if (path.EndsWith("freezer.state")) Last = value; }
    }

    [Test]
    public void GetPids_is_recursive_and_destroy_removes_children_first()
    {
        _m.Create();
        _h.SetFile("freezer/runcs/c1/cgroup.procs", "10\n11\n");
        Directory.CreateDirectory(_h.P("freezer/runcs/c1/sub"));
        _h.SetFile("freezer/runcs/c1/sub/cgroup.procs", "12\n");
        Assert.That(_m.GetPids(), Is.EquivalentTo(new[] { 10, 11, 12 }));
        Assert.That(_m.GetPids(recursive: false), Is.EquivalentTo(new[] { 10, 11 }));
        var ex = Assert.Throws<RuncsException>(() => _m.Destroy(timeout: TimeSpan.FromMilliseconds(50)));
        Assert.That(ex!.Message, Does.Contain("processes still inside: 10 11"));
        _h.SetFile("freezer/runcs/c1/cgroup.procs", "");
        _h.SetFile("freezer/runcs/c1/sub/cgroup.procs", "");
        Clear();
        _m.Destroy();
        Assert.That(_m.Exists(), Is.False);
        var rm = _h.Writes.Where(w => w.StartsWith("freezer")).ToList();
        Assert.That(rm, Is.EqualTo(new[] { "freezer/runcs/c1/sub=<rmdir>", "freezer/runcs/c1=<rmdir>" }));
        Assert.That(Directory.Exists(_h.P("freezer/runcs")), Is.True, "parents are not ours to remove");
    }

    [Test]
    public void Real_world_configs_apply_on_the_fake_hybrid_host()
    {
        foreach (var file in Directory.GetFiles(System.IO.Path.Combine(Runcs.Tests.Schema.SchemaTestData.SharedDir, "real-world-configs"), "*.json"))
        {
            var cfg = System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(file), RuncsJson.Default.Config)!;
            using var h = FakeHost.Hybrid();
            var m = h.Factory().ForContainer("x", cfg.Linux!.CgroupsPath);
            m.Apply(1, cfg.Linux.Resources);
            m.Set(cfg.Linux.Resources);
            Assert.That(h.WritesTo("devices.deny").First(), Is.EqualTo("a *:* rwm"), file);
            if (cfg.Linux.Resources?.Pids is { } p) Assert.That(File.ReadAllText(Path.Combine(m.Paths["pids"], "pids.max")), Is.EqualTo(p.Limit.ToString()));
            if (cfg.Linux.Resources?.Cpu?.Shares is { } s and not 0) Assert.That(File.ReadAllText(Path.Combine(m.Paths["cpu"], "cpu.shares")), Is.EqualTo(s.ToString()));
        }
    }
}

public class PureV1Tests
{
    [Test]
    public void Comounted_cpu_cpuacct_dir_is_created_once_and_joined_once()
    {
        using var h = FakeHost.V1();
        var m = h.Factory().ForContainer("c", null);
        m.Apply(99);
        Assert.That(m.Paths["cpu"], Is.EqualTo(m.Paths["cpuacct"]));
        Assert.That(h.Writes.Count(w => w == "cpu,cpuacct/user.slice/c/cgroup.procs=99"), Is.EqualTo(1));
        Assert.That(m.Paths.ContainsKey(""), Is.False);
    }

    [Test]
    public void Network_rdma_and_hugetlb_on_v1()
    {
        using var h = FakeHost.V1();
        var m = h.Factory().ForContainer("c", null);
        m.Create();
        h.Fs.Log.Clear();
        m.Update(new Resources
        {
            Network = new NetworkResources { ClassID = 0x100001, Priorities = [new InterfacePriority { Name = "eth0", Priority = 5 }, new InterfacePriority { Name = "lo", Priority = 1 }] },
            Rdma = new() { ["mlx5_0"] = new RdmaResource { HcaHandles = 3, HcaObjects = 10000 }, ["mlx4_0"] = new RdmaResource { HcaObjects = 5 } },
            HugepageLimits = [new HugepageLimit { PageSize = "1GB", Limit = 1073741824 }],
        });
        Assert.That(h.Writes, Is.EqualTo(new[]
        {
            "hugetlb/user.slice/c/hugetlb.1GB.limit_in_bytes=1073741824",
            "hugetlb/user.slice/c/hugetlb.1GB.rsvd.limit_in_bytes=1073741824",
            "net_cls,net_prio/user.slice/c/net_cls.classid=1048577",
            "net_cls,net_prio/user.slice/c/net_prio.ifpriomap=eth0 5",
            "net_cls,net_prio/user.slice/c/net_prio.ifpriomap=lo 1",
            "rdma/user.slice/c/rdma.max=mlx5_0 hca_handle=3 hca_object=10000",
            "rdma/user.slice/c/rdma.max=mlx4_0 hca_object=5",
        }));
    }

    [Test]
    public void Unified_on_pure_v1_is_an_error()
    {
        using var h = FakeHost.V1();
        var m = h.Factory().ForContainer("c", null);
        m.Create();
        var ex = Assert.Throws<RuncsException>(() => m.Update(new Resources { Unified = new() { ["memory.high"] = "1" } }));
        Assert.That(ex!.Message, Does.Contain("only cgroup v1"));
    }
}
