using NUnit.Framework;
using Runcs.Cgroups;
using Runcs.Spec;

namespace Runcs.Tests.Cgroups;

public class V2ManagerTests
{
    private FakeHost _h = null!;
    private ICgroupManager _m = null!;
    private const string D = "runner/ctr/c1/";

    [SetUp]
    public void SetUp()
    {
        _h = FakeHost.V2();
        _m = _h.Factory().ForContainer("c1", "ctr/c1");
        _m.Create();
        _h.Fs.Log.Clear();
    }

    [TearDown]
    public void TearDown() => _h.Dispose();

    private List<string> W => _h.Writes;

    [Test]
    public void Create_enables_controllers_from_the_root_down_to_the_parent()
    {
        using var h = FakeHost.V2("cpu memory pids");
        h.SetFile("cgroup.subtree_control", "memory\n");
        var m = h.Factory().ForContainer("c1", "/a/b");
        m.Apply(5);
        Assert.That(h.Writes, Is.EqualTo(new[]
        {
            "cgroup.subtree_control=+cpu +pids", "a=<mkdir>",
            "a/cgroup.subtree_control=+memory +cpu +pids", "a/b=<mkdir>",
            "a/b/cgroup.procs=5",
        }));
        Assert.That(h.ReadFile("a/b/cgroup.controllers").Trim(), Is.EqualTo("memory cpu pids"));
    }

    [Test]
    public void Controllers_that_cannot_be_enabled_together_are_tried_one_by_one()
    {
        using var h = FakeHost.V2("cpu memory pids");
        h.SetFile("cgroup.subtree_control", "");
        h.Fs.RefuseControllers.Add("memory");
        var m = h.Factory().ForContainer("c1", "/x");
        m.Create();
        Assert.That(h.ReadFile("cgroup.subtree_control").Trim(), Is.EqualTo("cpu pids"));
        Assert.That(h.DebugNotes, Has.Some.Contains("cannot enable memory"));
    }

    [Test]
    public void Memory_swap_is_converted_and_written_before_the_limit()
    {
        _m.Set(new Resources { Memory = new MemoryResources { Limit = 100 << 20, Swap = 300 << 20, Reservation = 50 << 20 } });
        Assert.That(W.Where(w => w.Contains("memory.")), Is.EqualTo(new[]
        {
            D + "memory.swap.max=209715200", D + "memory.max=104857600", D + "memory.low=52428800",
        }));
    }

    [TestCase(100L, 100L, "0")]
    [TestCase(-1L, 0L, "max")]
    [TestCase(100L, -1L, "max")]
    [TestCase(100L, 0L, null)]
    public void Memory_swap_edge_cases(long limit, long swap, string? swapMax)
    {
        _m.Set(new Resources { Memory = new MemoryResources { Limit = limit, Swap = swap } });
        Assert.That(_h.WritesTo("memory.swap.max"), Is.EqualTo(swapMax is null ? Array.Empty<string>() : new[] { swapMax }));
        Assert.That(_h.WritesTo("memory.max"), Is.EqualTo(new[] { limit == -1 ? "max" : limit.ToString() }));
    }

    [Test]
    public void Memory_swap_below_limit_and_swap_without_limit_are_refused()
    {
        var ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Memory = new MemoryResources { Limit = 200, Swap = 100 } }));
        Assert.That(ex!.Message, Is.EqualTo("memory+swap limit should be >= memory limit"));
        ex = Assert.Throws<RuncsException>(() => _m.Set(new Resources { Memory = new MemoryResources { Swap = 100 } }));
        Assert.That(ex!.Message, Is.EqualTo("unable to set swap limit without memory limit"));
    }

    [Test]
    public void Missing_swap_file_is_fine_for_max_or_zero()
    {
        File.Delete(_h.P(D + "memory.swap.max"));
        Assert.DoesNotThrow(() => _m.Set(new Resources { Memory = new MemoryResources { Limit = 100, Swap = 100 } }));
        Assert.That(_h.ReadFile(D + "memory.max"), Is.EqualTo("100"));
    }

    [Test]
    public void Check_before_update_refuses_limits_below_usage()
    {
        _h.SetFile(D + "memory.current", "5000\n");
        var ex = Assert.Throws<RuncsException>(() => _m.Update(new Resources { Memory = new MemoryResources { Limit = 4096, CheckBeforeUpdate = true } }));
        Assert.That(ex!.Message, Does.Contain("below the current usage 5000"));
        Assert.DoesNotThrow(() => _m.Update(new Resources { Memory = new MemoryResources { Limit = 8192, CheckBeforeUpdate = true } }));
    }

    [Test]
    public void V1_only_memory_knobs_are_noted_not_written()
    {
        _m.Set(new Resources { Memory = new MemoryResources { Kernel = 1, KernelTCP = 1, Swappiness = 5, DisableOOMKiller = true } });
        Assert.That(W.Where(w => w.Contains("memory.")), Is.Empty);
        Assert.That(_h.DebugNotes, Has.Count.GreaterThanOrEqualTo(4));
    }

    [TestCase(2UL, 1UL)]
    [TestCase(1024UL, 39UL)]
    [TestCase(262144UL, 10000UL)]
    [TestCase(512UL, 20UL)]
    [TestCase(1UL, 1UL)]
    public void Shares_to_weight_uses_runc_1_1_linear_formula(ulong shares, ulong weight)
    {
        Assert.That(V2Convert.SharesToWeight(shares), Is.EqualTo(weight));
    }

    [TestCase((ushort)10, 1UL)]
    [TestCase((ushort)500, 4950UL)]
    [TestCase((ushort)1000, 10000UL)]
    public void Blkio_weight_to_io_weight(ushort blkio, ulong io) => Assert.That(V2Convert.BlkioWeightToIoWeight(blkio), Is.EqualTo(io));

    [Test]
    public void Cpu_weight_max_burst_idle_cpuset()
    {
        _m.Set(new Resources { Cpu = new CpuResources { Shares = 1024, Quota = 50000, Period = 100000, Burst = 10000, Idle = 0, Cpus = "0", Mems = "0" } });
        Assert.That(W.Where(w => !w.Contains("<bpf>")), Is.EqualTo(new[]
        {
            D + "cpuset.cpus=0", D + "cpuset.mems=0",
            D + "cpu.weight=39", D + "cpu.idle=0", D + "cpu.max=50000 100000", D + "cpu.max.burst=10000",
        }));
    }

    [Test]
    public void Cpu_max_variants()
    {
        _m.Update(new Resources { Cpu = new CpuResources { Quota = -1, Period = 20000 } });
        _m.Update(new Resources { Cpu = new CpuResources { Quota = 30000 } });
        _h.SetFile(D + "cpu.max", "30000 20000\n");
        _m.Update(new Resources { Cpu = new CpuResources { Period = 50000 } });
        Assert.That(_h.WritesTo("cpu.max"), Is.EqualTo(new[] { "max 20000", "30000", "30000 50000" }));
    }

    [Test]
    public void Realtime_on_v2_is_refused()
    {
        var ex = Assert.Throws<RuncsException>(() => _m.Update(new Resources { Cpu = new CpuResources { RealtimeRuntime = 1000 } }));
        Assert.That(ex!.Message, Does.Contain("real-time"));
    }

    [Test]
    public void Io_weight_and_max()
    {
        _m.Update(new Resources
        {
            BlockIO = new BlockIO
            {
                Weight = 500, WeightDevice = [new WeightDevice { Major = 8, Minor = 0, Weight = 10 }],
                ThrottleReadBpsDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 1000 }],
                ThrottleWriteBpsDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 2000 }],
                ThrottleReadIOPSDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 30 }],
                ThrottleWriteIOPSDevice = [new ThrottleDevice { Major = 8, Minor = 0, Rate = 40 }],
            },
        });
        Assert.That(W, Is.EqualTo(new[]
        {
            D + "io.weight=4950", D + "io.weight=8:0 1", D + "io.max=8:0 rbps=1000", D + "io.max=8:0 wbps=2000", D + "io.max=8:0 riops=30", D + "io.max=8:0 wiops=40",
        }));
    }

    [Test]
    public void Io_bfq_weight_is_written_as_is()
    {
        _h.SetFile(D + "io.bfq.weight", "default 100\n");
        _m.Update(new Resources { BlockIO = new BlockIO { Weight = 500, WeightDevice = [new WeightDevice { Major = 8, Minor = 0, Weight = 10 }] } });
        Assert.That(W, Is.EqualTo(new[] { D + "io.bfq.weight=500", D + "io.bfq.weight=8:0 10" }));
    }

    [Test]
    public void Pids_hugetlb_rdma()
    {
        _m.Update(new Resources
        {
            Pids = new PidsResources { Limit = 64 },
            HugepageLimits = [new HugepageLimit { PageSize = "1GB", Limit = 0 }],
            Rdma = new() { ["mlx5_1"] = new RdmaResource { HcaHandles = 2 } },
        });
        Assert.That(W, Is.EqualTo(new[] { D + "pids.max=64", D + "hugetlb.1GB.max=0", D + "hugetlb.1GB.rsvd.max=0", D + "rdma.max=mlx5_1 hca_handle=2" }));
    }

    [Test]
    public void Network_on_v2_is_an_error_when_set()
    {
        var ex = Assert.Throws<RuncsException>(() => _m.Update(new Resources { Network = new NetworkResources { ClassID = 1 } }));
        Assert.That(ex!.Message, Does.Contain("net_cls"));
    }

    [Test]
    public void Unified_is_written_last_and_checked()
    {
        _m.Update(new Resources { Memory = new MemoryResources { Limit = 1000 }, Unified = new() { ["memory.high"] = "900", ["cgroup.max.depth"] = "3" } });
        Assert.That(W, Is.EqualTo(new[] { D + "memory.max=1000", D + "memory.high=900", D + "cgroup.max.depth=3" }));
        Assert.That(Assert.Throws<RuncsException>(() => _m.Update(new Resources { Unified = new() { ["perf_event.x"] = "1" } }))!.Message,
            Does.Contain("controller \"perf_event\" not available"));
        Assert.That(Assert.Throws<RuncsException>(() => _m.Update(new Resources { Unified = new() { ["nodot"] = "1" } }))!.Message,
            Does.Contain("CONTROLLER.PARAMETER"));
        Assert.That(Assert.Throws<RuncsException>(() => _m.Update(new Resources { Unified = new() { ["../x.y"] = "1" } }))!.Message,
            Does.Contain("CONTROLLER.PARAMETER"));
        Assert.That(Assert.Throws<RuncsException>(() => _m.Update(new Resources { Unified = new() { ["cgroup.procs"] = "1" } }))!.Message,
            Does.Contain("only cgroup.max.depth"));
        Assert.That(Assert.Throws<RuncsException>(() => _m.Update(new Resources { Unified = new() { ["memory.nonexistent"] = "1" } }))!.Message,
            Does.Contain("no such file"));
    }

    [Test]
    public void Controller_not_enabled_in_the_leaf_is_a_clear_error()
    {
        using var h = FakeHost.V2("cpu");
        var m = h.Factory().ForContainer("c1", "/x");
        m.Create();
        var ex = Assert.Throws<RuncsException>(() => m.Set(new Resources { Pids = new PidsResources { Limit = 5 } }));
        Assert.That(ex!.Message, Is.EqualTo("cannot set pids.limit: the pids cgroup controller is not available on this host"));
    }

    [Test]
    public void Devices_become_a_bpf_program_on_the_cgroup()
    {
        _m.Set(new Resources { Devices = [new DeviceCgroup { Allow = false, Access = "rwm" }, new DeviceCgroup { Allow = true, Type = "c", Major = 10, Minor = 200, Access = "rwm" }] });
        Assert.That(_h.Fs.DevicePrograms, Has.Count.EqualTo(1));
        var (dir, prog) = _h.Fs.DevicePrograms[0];
        Assert.That(dir, Is.EqualTo(_h.P("runner/ctr/c1")));
        Assert.That(BpfInterpreter.Run(prog, 'c', 1, 3, DeviceAccess.Read | DeviceAccess.Write), Is.True);
        Assert.That(BpfInterpreter.Run(prog, 'c', 10, 229, DeviceAccess.Read), Is.False);
        _m.Update(new Resources { Pids = new PidsResources { Limit = 1 } });
        Assert.That(_h.Fs.DevicePrograms, Has.Count.EqualTo(1), "update without devices keeps the program");
    }

    [Test]
    public void Freeze_thaw_and_kill_v2()
    {
        _m.Freeze();
        Assert.That(_h.ReadFile(D + "cgroup.freeze"), Is.EqualTo("1\n"));
        Assert.That(_m.GetFreezerState(), Is.EqualTo(FreezerState.Frozen));
        _m.Thaw();
        Assert.That(_m.GetFreezerState(), Is.EqualTo(FreezerState.Thawed));
        _h.Fs.Log.Clear();
        _m.SignalAll(9);
        Assert.That(W, Is.EqualTo(new[] { D + "cgroup.kill=1" }));
    }

    [Test]
    public void Join_writes_procs_only_and_refuses_a_missing_cgroup()
    {
        _m.Join(77);
        Assert.That(W, Is.EqualTo(new[] { D + "cgroup.procs=77" }));
        var gone = _h.Factory().ForContainer("zz", "never/created");
        Assert.That(Assert.Throws<RuncsException>(() => gone.Join(1))!.Message, Does.Contain("does not exist"));
        Assert.That(Directory.Exists(_h.P("runner/never")), Is.False);
    }

    [Test]
    public void Oom_watcher_v2_counts_oom_kill_increases_of_memory_events()
    {
        using var w = _m.WatchOom();
        Assert.That(w.Wait(0), Is.EqualTo(0));
        File.WriteAllText(_h.P(D + "memory.events"), "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n");
        Assert.That(w.Wait(2000), Is.EqualTo(2));
        File.WriteAllText(_h.P(D + "memory.events"), "low 0\nhigh 0\nmax 3\noom 2\noom_kill 3\n");
        Assert.That(w.Wait(2000), Is.EqualTo(1));
        Assert.That(_m.OomKillCount(), Is.EqualTo(3));
    }

    [Test]
    public void Real_world_configs_apply_on_the_fake_v2_host()
    {
        foreach (var file in Directory.GetFiles(System.IO.Path.Combine(Runcs.Tests.Schema.SchemaTestData.SharedDir, "real-world-configs"), "*.json"))
        {
            var cfg = System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(file), RuncsJson.Default.Config)!;
            using var h = FakeHost.V2();
            var m = h.Factory().ForContainer("x", cfg.Linux!.CgroupsPath);
            m.Apply(1, cfg.Linux.Resources);
            m.Set(cfg.Linux.Resources);
            Assert.That(h.Fs.DevicePrograms, Has.Count.EqualTo(1), file);
            var prog = h.Fs.DevicePrograms[0].Prog;
            Assert.That(BpfInterpreter.Run(prog, 'c', 1, 3, DeviceAccess.Read | DeviceAccess.Write), Is.True, file + " /dev/null");
            Assert.That(BpfInterpreter.Run(prog, 'c', 10, 229, DeviceAccess.Read), Is.False, file + " /dev/fuse");
            Assert.That(BpfInterpreter.Run(prog, 'b', 8, 0, DeviceAccess.Read), Is.False, file + " /dev/sda");
            Assert.That(BpfInterpreter.Run(prog, 'b', 8, 0, DeviceAccess.Mknod), Is.True, file + " mknod is allowed by default");
        }
    }
}
