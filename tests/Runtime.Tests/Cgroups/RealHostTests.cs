using System.Diagnostics;
using Process = System.Diagnostics.Process;
using System.Text.Json;
using NUnit.Framework;
using Runcs.Cgroups;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Tests.Cgroups;

/// <summary>
/// On this machine's real hierarchy (root, hybrid): cgroups at paths relative to our own cgroup,
/// plain processes we spawn, everything removed in TearDown even when a test fails.
/// </summary>
[TestFixture, NonParallelizable, Category("RealCgroup")]
public class RealHostTests
{
    private readonly List<ICgroupManager> _managers = [];
    private readonly List<Process> _procs = [];
    private CgroupManagerFactory _f = null!;
    private readonly List<string> _notes = [];

    [SetUp]
    public void SetUp()
    {
        if (Environment.UserName != "root") Assert.Ignore("needs root");
        if (!Directory.Exists("/sys/fs/cgroup/memory") && !File.Exists("/sys/fs/cgroup/cgroup.controllers")) Assert.Ignore("no cgroupfs");
        _f = new CgroupManagerFactory { Debug = _notes.Add };
    }

    [TearDown]
    public void TearDown()
    {
        foreach (var p in _procs)
        {
            try { if (!p.HasExited) { p.Kill(); p.WaitForExit(5000); } } catch (InvalidOperationException) { }
            p.Dispose();
        }
        foreach (var m in _managers)
        {
            try { if (m.GetFreezerState() != FreezerState.Thawed) m.Thaw(); } catch (RuncsException) { }
            try { m.Destroy(kill: true); } catch (RuncsException e) { TestContext.Out.WriteLine("cleanup: " + e.Message); }
        }
        foreach (var n in _notes) TestContext.Out.WriteLine("debug: " + n);
    }

    private ICgroupManager Make(string prefix)
    {
        var m = _f.ForContainer("t", $"runcs-test-{prefix}-{Guid.NewGuid():N}"[..40]);
        _managers.Add(m);
        return m;
    }

    private Process Spawn(string script, bool stdin = false)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", script]) { RedirectStandardInput = stdin, RedirectStandardOutput = true, UseShellExecute = false };
        var p = Process.Start(psi)!;
        _procs.Add(p);
        return p;
    }

    private static char State(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    private static void WaitFor(Func<bool> cond, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!cond())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(5)) Assert.Fail("timed out waiting for " + what);
            Thread.Sleep(10);
        }
    }

    [Test]
    public void Apply_set_freeze_thaw_stats_destroy()
    {
        var m = Make("life");
        var p = Spawn("exec sleep 300");
        m.Apply(p.Id);
        m.Set(new Resources
        {
            Memory = new MemoryResources { Limit = 64 << 20, Swap = 128 << 20, Reservation = 32 << 20 },
            Pids = new PidsResources { Limit = 10 },
            Cpu = new CpuResources { Shares = 512, Quota = 50000, Period = 100000 },
        });
        var paths = m.Paths;
        TestContext.Out.WriteLine(string.Join("\n", paths.Select(kv => $"{kv.Key} -> {kv.Value}")));
        Assert.That(File.ReadAllText(Path.Combine(paths["memory"], "memory.limit_in_bytes")).Trim(), Is.EqualTo("67108864"));
        Assert.That(File.ReadAllText(Path.Combine(paths["memory"], "memory.memsw.limit_in_bytes")).Trim(), Is.EqualTo("134217728"));
        Assert.That(File.ReadAllText(Path.Combine(paths["pids"], "pids.max")).Trim(), Is.EqualTo("10"));
        Assert.That(File.ReadAllText(Path.Combine(paths["cpu"], "cpu.cfs_quota_us")).Trim(), Is.EqualTo("50000"));
        Assert.That(File.ReadAllText(Path.Combine(paths["cpuset"], "cpuset.cpus")).Trim(), Is.Not.Empty);
        Assert.That(m.GetPids(), Is.EqualTo(new[] { p.Id }));
        string own = File.ReadAllText($"/proc/{p.Id}/cgroup");
        Assert.That(own, Does.Contain("runcs-test-life"));

        // Lowering the memory limit with swap: limit first, then memsw.
        m.Update(new Resources { Memory = new MemoryResources { Limit = 48 << 20, Swap = 96 << 20 } });
        Assert.That(File.ReadAllText(Path.Combine(paths["memory"], "memory.memsw.limit_in_bytes")).Trim(), Is.EqualTo("100663296"));
        // Raising past the current memsw: memsw first.
        m.Update(new Resources { Memory = new MemoryResources { Limit = 200 << 20, Swap = 400 << 20 } });
        Assert.That(File.ReadAllText(Path.Combine(paths["memory"], "memory.limit_in_bytes")).Trim(), Is.EqualTo("209715200"));

        m.Freeze();
        Assert.That(m.GetFreezerState(), Is.EqualTo(FreezerState.Frozen));
        Assert.That(State(p.Id), Is.EqualTo('D'), "frozen tasks report as uninterruptible");
        m.Thaw();
        Assert.That(m.GetFreezerState(), Is.EqualTo(FreezerState.Thawed));
        WaitFor(() => State(p.Id) == 'S', "sleep to be sleeping again");

        var st = m.GetStats();
        Assert.That(st.Pids.Current, Is.EqualTo(1));
        Assert.That(st.Pids.Limit, Is.EqualTo(10));
        Assert.That(st.Memory.Usage.Limit, Is.EqualTo(209715200));
        TestContext.Out.WriteLine(JsonSerializer.Serialize(new CgroupEvent { Id = "t", Data = st }, CgroupsJson.Default.CgroupEvent));

        m.Destroy(kill: true);
        Assert.That(p.WaitForExit(5000), Is.True);
        Assert.That(m.Exists(), Is.False);
        foreach (var d in paths.Values) Assert.That(Directory.Exists(d), Is.False, d);
    }

    [Test]
    public void Docker_device_rules_on_the_real_v1_devices_controller()
    {
        if (!_f.Layout.V1.ContainsKey("devices")) Assert.Ignore("no v1 devices controller");
        var cfg = JsonSerializer.Deserialize(File.ReadAllText(System.IO.Path.Combine(Runcs.Tests.Schema.SchemaTestData.SharedDir, "real-world-configs", "docker-run.json")), RuncsJson.Default.Config)!;
        var m = Make("devs");
        m.Create();
        m.Set(cfg.Linux!.Resources);
        var list = File.ReadAllLines(Path.Combine(m.Paths["devices"], "devices.list"));
        TestContext.Out.WriteLine(string.Join("\n", list));
        Assert.That(list, Does.Contain("c 1:3 rwm").And.Contain("c 136:* rwm").And.Contain("c *:* m").And.Not.Contain("a *:* rwm"));
        Assert.That(list.Any(l => l.StartsWith("c 10:229")), Is.False, "fuse stays denied");
    }

    [Test]
    public void Kernel_memory_on_this_kernel_is_written_or_skipped_without_error()
    {
        var m = Make("kmem");
        m.Create();
        Assert.DoesNotThrow(() => m.Set(new Resources { Memory = new MemoryResources { Kernel = 64 << 20, KernelTCP = 16 << 20 } }));
    }

    [Test]
    public void Pids_limit_is_enforced()
    {
        var m = Make("pids");
        var p = Spawn("read x; sleep 30 & sleep 30 & sleep 30 & sleep 30 & wait", stdin: true);
        m.Apply(p.Id, null);
        m.Set(new Resources { Pids = new PidsResources { Limit = 3 } });
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        string events = Path.Combine(m.Paths["pids"], "pids.events");
        WaitFor(() => File.ReadAllText(events).Contains("max ") && !File.ReadAllText(events).Contains("max 0"), "the pids limit to be hit");
        Assert.That(m.GetPids().Count, Is.LessThanOrEqualTo(3));
        m.SignalAll(9);
        Assert.That(p.WaitForExit(5000), Is.True);
    }

    [Test]
    public void Oom_event_is_reported_v1()
    {
        var m = Make("oom");
        var p = Spawn("read x; exec dd if=/dev/zero of=/dev/null bs=64M count=1", stdin: true);
        m.Apply(p.Id);
        m.Set(new Resources { Memory = new MemoryResources { Limit = 16 << 20, Swap = 16 << 20 } });
        using var w = m.WatchOom();
        Assert.That(w.Wait(0), Is.EqualTo(0));
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        int n = w.Wait(10000);
        Assert.That(n, Is.GreaterThan(0));
        Assert.That(p.WaitForExit(5000), Is.True);
        Assert.That(m.OomKillCount(), Is.GreaterThanOrEqualTo(1UL));
    }

    [Test]
    public void Hugetlb_limit_on_the_unified_mount()
    {
        var l = _f.Layout;
        if (l.Mode != CgroupMode.Hybrid || !l.UnifiedControllers.Contains("hugetlb")) Assert.Ignore("needs hybrid with hugetlb on cgroup2");
        var m = Make("huge");
        var p = Spawn("exec sleep 300");
        m.Apply(p.Id);
        m.Set(new Resources { HugepageLimits = [new HugepageLimit { PageSize = "2MB", Limit = 8 << 20 }] });
        Assert.That(File.ReadAllText(Path.Combine(m.Paths[""], "hugetlb.2MB.max")).Trim(), Is.EqualTo("8388608"));
        Assert.That(File.ReadAllText(Path.Combine(m.Paths[""], "cgroup.procs")).Trim(), Is.EqualTo(p.Id.ToString()));
        var st = m.GetStats();
        Assert.That(st.Hugetlb.Keys, Does.Contain("2MB"));
        m.Update(new Resources { Unified = new() { ["hugetlb.2MB.max"] = "4194304" } });
        Assert.That(File.ReadAllText(Path.Combine(m.Paths[""], "hugetlb.2MB.max")).Trim(), Is.EqualTo("4194304"));
    }

    [Test]
    public void V2_device_program_allows_and_denies_for_real()
    {
        var l = _f.Layout;
        if (l.UnifiedOwnDir is null) Assert.Ignore("no cgroup2 mount");
        string dir = Path.Combine(l.UnifiedOwnDir, $"runcs-test-dev-{Guid.NewGuid():N}"[..30]);
        var m = _f.FromPaths(new Dictionary<string, string> { [""] = dir });
        _managers.Add(m);
        const string probe = "read x; for d in /dev/null /dev/kmsg; do if (exec 3<$d) 2>/dev/null; then echo \"$d ok\"; else echo \"$d denied\"; fi; done";

        var p = Spawn(probe, stdin: true);
        m.Apply(p.Id);
        m.Set(new Resources { Devices = [new DeviceCgroup { Allow = false, Access = "rwm" }] });
        p.StandardInput.WriteLine("go"); p.StandardInput.Flush();
        Assert.That(p.StandardOutput.ReadLine(), Is.EqualTo("/dev/null ok"));
        Assert.That(p.StandardOutput.ReadLine(), Is.EqualTo("/dev/kmsg denied"));
        Assert.That(p.WaitForExit(5000), Is.True);

        // Update replaces the program: now /dev/kmsg (c 1:11) is readable, and only one program is attached.
        m.Update(new Resources { Devices = [new DeviceCgroup { Allow = false, Access = "rwm" }, new DeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 11, Access = "r" }] });
        var p2 = Spawn(probe, stdin: true);
        File.WriteAllText(Path.Combine(dir, "cgroup.procs"), p2.Id.ToString());
        p2.StandardInput.WriteLine("go"); p2.StandardInput.Flush();
        Assert.That(p2.StandardOutput.ReadLine(), Is.EqualTo("/dev/null ok"));
        Assert.That(p2.StandardOutput.ReadLine(), Is.EqualTo("/dev/kmsg ok"));
        Assert.That(p2.WaitForExit(5000), Is.True);
        Assert.That(AttachedPrograms(dir), Is.EqualTo(1));
    }

    private static int AttachedPrograms(string dir)
    {
        int fd = Native.Open(dir, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_CLOEXEC, 0);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0));
        try { return Bpf.QueryCgroupDevicePrograms(fd).Length; }
        finally { Native.Close(fd); }
    }
}
