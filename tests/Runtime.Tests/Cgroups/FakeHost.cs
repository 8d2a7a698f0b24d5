using Runcs.Cgroups;
using Runcs.Linux;

namespace Runcs.Tests.Cgroups;

/// <summary>
/// A temporary tree laid out like a host's /sys/fs/cgroup plus fake /proc/self/mountinfo and
/// /proc/self/cgroup. New cgroup directories get the control files the kernel would create
/// (per hierarchy), writes are recorded in order, and a few kernel behaviours are mimicked:
/// cgroup.subtree_control takes +/- lists, cgroup.freeze updates cgroup.events, a v2 child's
/// cgroup.controllers is its parent's subtree_control, writes to missing files fail with ENOENT.
/// </summary>
internal sealed class FakeHost : IDisposable
{
    public string Tmp { get; }
    public string Root => Path.Combine(Tmp, "sys/fs/cgroup");
    public RecordingFs Fs { get; }
    public CgroupHost Host { get; }
    public List<string> DebugNotes { get; } = [];

    /// <summary>Extra files to leave out of new directories (e.g. "memory.kmem.limit_in_bytes").</summary>
    public HashSet<string> Omit => Fs.Omit;

    private FakeHost()
    {
        Tmp = Path.Combine(Path.GetTempPath(), "runcs-cg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path.Combine(Tmp, "proc"));
        Directory.CreateDirectory(Path.Combine(Tmp, "run"));
        Fs = new RecordingFs(this);
        Host = new CgroupHost(Root, Path.Combine(Tmp, "proc/mountinfo"), Path.Combine(Tmp, "proc/cgroup"), Path.Combine(Tmp, "run/systemd/system"));
    }

    public CgroupManagerFactory Factory()
    {
        var f = new CgroupManagerFactory(Host, Fs);
        f.Debug = DebugNotes.Add;
        return f;
    }

    public string P(string rel) => Path.Combine(Root, rel);
    public string Rel(string abs) => Path.GetRelativePath(Root, abs);
    public string ReadFile(string rel) => File.ReadAllText(P(rel));
    public void SetFile(string rel, string content) { Directory.CreateDirectory(Path.GetDirectoryName(P(rel))!); File.WriteAllText(P(rel), content); }

    /// <summary>Writes as "relative/path=value", in order.</summary>
    public List<string> Writes => Fs.Log.Select(w => $"{Rel(w.Path)}={w.Value}").ToList();
    public List<string> WritesTo(string fileName) => Fs.Log.Where(w => Path.GetFileName(w.Path) == fileName).Select(w => w.Value).ToList();

    public static readonly string[] HostV1 = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"];

    /// <summary>Like this machine: v1 controllers each on their own mount, name=systemd, cgroup2 at unified owning hugetlb;
    /// our memory cgroup is /process_api/abc, everything else /.</summary>
    public static FakeHost Hybrid(string[]? v1 = null, string unifiedControllers = "hugetlb")
    {
        var h = new FakeHost();
        v1 ??= HostV1;
        var mi = new List<string> { $"31 23 0:28 / {h.Root} rw,relatime - tmpfs tmpfs rw,mode=755" };
        var pc = new List<string>();
        int id = 32, n = 9;
        foreach (var c in v1)
        {
            mi.Add($"{id} 31 0:{id} / {h.Root}/{c} rw,relatime - cgroup cgroup rw,{c}");
            pc.Add($"{n--}:{c}:{(c == "memory" ? "/process_api/abc" : "/")}");
            h.Fs.Hierarchies[h.P(c)] = c.Split(',');
            id++;
        }
        mi.Add($"{id++} 31 0:{id} / {h.Root}/systemd rw,relatime - cgroup cgroup rw,name=systemd");
        pc.Add($"{n--}:name=systemd:/");
        mi.Add($"{id++} 31 0:{id} / {h.Root}/unified rw,relatime - cgroup2 cgroup2 rw");
        pc.Add("0::/");
        h.Fs.Hierarchies[h.P("unified")] = ["cgroup2"];
        File.WriteAllText(h.Host.MountInfo, string.Join('\n', mi) + "\n");
        File.WriteAllText(h.Host.ProcCgroup, string.Join('\n', pc) + "\n");
        foreach (var c in v1) h.MakeV1Dir(c, "");
        h.MakeV1Dir("memory", "process_api");
        h.MakeV1Dir("memory", "process_api/abc");
        Directory.CreateDirectory(h.P("systemd"));
        h.Fs.Populate(h.P("unified"), isRoot: true);
        File.WriteAllText(h.P("unified/cgroup.controllers"), unifiedControllers + "\n");
        return h;
    }

    /// <summary>Pure v1 (no cgroup2 mount), with cpu,cpuacct co-mounted and the network/rdma/hugetlb controllers.</summary>
    public static FakeHost V1()
    {
        var h = new FakeHost();
        string[] mounts = ["cpu,cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "net_cls,net_prio", "rdma"];
        var mi = new List<string> { $"31 23 0:28 / {h.Root} rw - tmpfs tmpfs rw" };
        var pc = new List<string>();
        int id = 40, n = 12;
        foreach (var m in mounts)
        {
            mi.Add($"{id} 31 0:{id} / {h.Root}/{m} rw,nosuid - cgroup cgroup rw,{m}");
            pc.Add($"{n--}:{m}:/user.slice");
            h.Fs.Hierarchies[h.P(m)] = m.Split(',');
            id++;
        }
        File.WriteAllText(h.Host.MountInfo, string.Join('\n', mi) + "\n");
        File.WriteAllText(h.Host.ProcCgroup, string.Join('\n', pc) + "\n");
        foreach (var m in mounts) { h.MakeV1Dir(m, ""); h.MakeV1Dir(m, "user.slice"); }
        return h;
    }

    /// <summary>Pure v2: /sys/fs/cgroup is cgroup2; we live in /runner (a leaf with processes, like a service).</summary>
    public static FakeHost V2(string controllers = "cpuset cpu io memory hugetlb pids rdma misc")
    {
        var h = new FakeHost();
        File.WriteAllText(h.Host.MountInfo,
            $"25 23 0:22 / {h.Root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n" +
            $"26 23 0:23 / /elsewhere/cgroup rw - cgroup2 cgroup2 rw\n");
        File.WriteAllText(h.Host.ProcCgroup, "0::/runner\n");
        h.Fs.Hierarchies[h.Root] = ["cgroup2"];
        h.Fs.Populate(h.Root, isRoot: true);
        File.WriteAllText(h.P("cgroup.controllers"), controllers + "\n");
        File.WriteAllText(h.P("cgroup.subtree_control"), controllers + "\n"); // the init system enabled them at the root
        Directory.CreateDirectory(h.P("runner"));
        h.Fs.Populate(h.P("runner"), isRoot: false);
        return h;
    }

    private void MakeV1Dir(string mount, string rel)
    {
        string d = rel.Length == 0 ? P(mount) : P(mount + "/" + rel);
        Directory.CreateDirectory(d);
        Fs.Populate(d, isRoot: rel.Length == 0);
        if (mount == "cpuset")
        {
            File.WriteAllText(Path.Combine(d, "cpuset.cpus"), "0-1\n");
            File.WriteAllText(Path.Combine(d, "cpuset.mems"), "0\n");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Tmp, true); } catch (IOException) { }
    }
}

internal sealed class RecordingFs : CgroupFs
{
    private readonly FakeHost _h;
    public List<(string Path, string Value)> Log { get; } = [];
    public Dictionary<string, string[]> Hierarchies { get; } = [];
    public HashSet<string> Omit { get; } = [];
    public List<(string Dir, BpfInsn[] Prog)> DevicePrograms { get; } = [];
    /// <summary>Make the next writes to a file fail with this errno (file name → errno).</summary>
    public Dictionary<string, int> FailWith { get; } = [];
    /// <summary>Controllers the fake kernel refuses to enable in cgroup.subtree_control (EBUSY).</summary>
    public HashSet<string> RefuseControllers { get; } = [];

    public RecordingFs(FakeHost h) => _h = h;

    public override void Write(string path, string value)
    {
        string name = Path.GetFileName(path);
        if (FailWith.TryGetValue(name, out int errno)) throw new CgroupIoException($"writing \"{value}\" to", path, errno);
        if (!File.Exists(path)) throw new CgroupIoException($"writing \"{value}\" to", path, ENOENT);
        Log.Add((path, value));
        string dir = Path.GetDirectoryName(path)!;
        switch (name)
        {
            case "cgroup.subtree_control":
                var set = File.ReadAllText(path).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
                var avail = File.ReadAllText(Path.Combine(dir, "cgroup.controllers")).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                foreach (var t in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    string c = t[1..];
                    if (!avail.Contains(c)) throw new CgroupIoException($"writing \"{value}\" to", path, ENOENT);
                    if (t[0] == '+' && RefuseControllers.Contains(c)) throw new CgroupIoException($"writing \"{value}\" to", path, EBUSY);
                    if (t[0] == '+' && !set.Contains(c)) set.Add(c);
                    if (t[0] == '-') set.Remove(c);
                }
                File.WriteAllText(path, string.Join(' ', set) + "\n");
                return;
            case "cgroup.freeze":
                File.WriteAllText(path, value + "\n");
                File.WriteAllText(Path.Combine(dir, "cgroup.events"), $"populated 1\nfrozen {value.Trim()}\n");
                return;
            case "cgroup.procs" or "devices.allow" or "devices.deny" or "net_prio.ifpriomap" or "io.max" or "rdma.max":
                File.AppendAllText(path, value + "\n"); // these files accumulate
                return;
        }
        File.WriteAllText(path, value);
    }

    public override bool MakeDir(string path)
    {
        if (Directory.Exists(path)) return false;
        if (!Directory.Exists(Path.GetDirectoryName(path))) throw new CgroupIoException("creating cgroup", path, ENOENT);
        Directory.CreateDirectory(path);
        Log.Add((path, "<mkdir>"));
        Populate(path, isRoot: false);
        return true;
    }

    public override void RemoveDir(string path)
    {
        if (!Directory.Exists(path)) return;
        if (Directory.GetDirectories(path).Length > 0) throw new CgroupIoException("removing cgroup", path, ENOTEMPTY);
        string procs = Path.Combine(path, "cgroup.procs");
        if (File.Exists(procs) && File.ReadAllText(procs).Trim().Length > 0) throw new CgroupIoException("removing cgroup", path, EBUSY);
        Directory.Delete(path, true);
        Log.Add((path, "<rmdir>"));
    }

    public override void AttachDeviceProgram(string dir, BpfInsn[] prog)
    {
        Log.Add((Path.Combine(dir, "<bpf>"), $"{prog.Length} insns"));
        DevicePrograms.Add((dir, prog));
    }

    /// <summary>Fill a new directory with the files the kernel would create in it.</summary>
    public void Populate(string dir, bool isRoot)
    {
        string? mount = Hierarchies.Keys.Where(m => dir == m || dir.StartsWith(m + "/")).OrderByDescending(m => m.Length).FirstOrDefault();
        if (mount is null) return;
        Directory.CreateDirectory(dir);
        var files = new Dictionary<string, string> { ["cgroup.procs"] = "" };
        var ctrls = Hierarchies[mount];
        if (ctrls[0] == "cgroup2")
        {
            string parent = Path.GetDirectoryName(dir)!;
            string avail = isRoot ? "" : (File.Exists(Path.Combine(parent, "cgroup.subtree_control")) ? File.ReadAllText(Path.Combine(parent, "cgroup.subtree_control")).Trim() : "");
            files["cgroup.controllers"] = avail + "\n";
            files["cgroup.subtree_control"] = "";
            files["cgroup.stat"] = "nr_descendants 0\n";
            files["cpu.stat"] = "usage_usec 0\nuser_usec 0\nsystem_usec 0\n";
            if (!isRoot)
            {
                files["cgroup.freeze"] = "0\n";
                files["cgroup.events"] = "populated 0\nfrozen 0\n";
                files["cgroup.kill"] = "";
                files["cgroup.type"] = "domain\n";
                files["cgroup.max.depth"] = "max\n";
                files["cgroup.max.descendants"] = "max\n";
                foreach (var c in avail.Split(' ', StringSplitOptions.RemoveEmptyEntries)) AddV2(files, c);
            }
        }
        else foreach (var c in ctrls) AddV1(files, c);
        foreach (var (f, v) in files)
            if (!Omit.Contains(f)) File.WriteAllText(Path.Combine(dir, f), v);
    }

    private static void AddV1(Dictionary<string, string> f, string c)
    {
        f["tasks"] = "";
        switch (c)
        {
            case "cpu":
                f["cpu.shares"] = "1024\n"; f["cpu.cfs_period_us"] = "100000\n"; f["cpu.cfs_quota_us"] = "-1\n";
                f["cpu.cfs_burst_us"] = "0\n"; f["cpu.rt_period_us"] = "1000000\n"; f["cpu.rt_runtime_us"] = "0\n";
                f["cpu.idle"] = "0\n"; f["cpu.stat"] = "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n";
                break;
            case "cpuacct":
                f["cpuacct.usage"] = "0\n"; f["cpuacct.usage_percpu"] = "0 0\n"; f["cpuacct.stat"] = "user 0\nsystem 0\n";
                f["cpuacct.usage_all"] = "cpu user system\n0 0 0\n1 0 0\n";
                break;
            case "cpuset":
                f["cpuset.cpus"] = ""; f["cpuset.mems"] = ""; f["cpuset.cpu_exclusive"] = "0\n"; f["cpuset.mem_exclusive"] = "0\n";
                break;
            case "memory":
                f["memory.limit_in_bytes"] = "9223372036854771712\n"; f["memory.soft_limit_in_bytes"] = "9223372036854771712\n";
                f["memory.memsw.limit_in_bytes"] = "9223372036854771712\n"; f["memory.swappiness"] = "60\n";
                f["memory.oom_control"] = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"; f["memory.use_hierarchy"] = "1\n";
                f["memory.usage_in_bytes"] = "0\n"; f["memory.max_usage_in_bytes"] = "0\n"; f["memory.failcnt"] = "0\n";
                f["memory.memsw.usage_in_bytes"] = "0\n"; f["memory.memsw.max_usage_in_bytes"] = "0\n"; f["memory.memsw.failcnt"] = "0\n";
                f["memory.kmem.limit_in_bytes"] = "9223372036854771712\n"; f["memory.kmem.tcp.limit_in_bytes"] = "9223372036854771712\n";
                f["memory.stat"] = "cache 0\nrss 0\n"; f["cgroup.event_control"] = "";
                break;
            case "devices": f["devices.allow"] = ""; f["devices.deny"] = ""; f["devices.list"] = "a *:* rwm\n"; break;
            case "freezer": f["freezer.state"] = "THAWED\n"; break;
            case "blkio":
                f["blkio.weight"] = "500\n"; f["blkio.weight_device"] = ""; f["blkio.leaf_weight"] = "500\n"; f["blkio.leaf_weight_device"] = "";
                f["blkio.throttle.read_bps_device"] = ""; f["blkio.throttle.write_bps_device"] = "";
                f["blkio.throttle.read_iops_device"] = ""; f["blkio.throttle.write_iops_device"] = "";
                f["blkio.throttle.io_service_bytes_recursive"] = "Total 0\n"; f["blkio.throttle.io_serviced_recursive"] = "Total 0\n";
                break;
            case "pids": f["pids.max"] = "max\n"; f["pids.current"] = "0\n"; break;
            case "hugetlb":
                foreach (var s in new[] { "2MB", "1GB" })
                {
                    f[$"hugetlb.{s}.limit_in_bytes"] = "9223372036854771712\n"; f[$"hugetlb.{s}.rsvd.limit_in_bytes"] = "9223372036854771712\n";
                    f[$"hugetlb.{s}.usage_in_bytes"] = "0\n"; f[$"hugetlb.{s}.max_usage_in_bytes"] = "0\n"; f[$"hugetlb.{s}.failcnt"] = "0\n";
                }
                break;
            case "net_cls": f["net_cls.classid"] = "0\n"; break;
            case "net_prio": f["net_prio.ifpriomap"] = "lo 0\n"; break;
            case "rdma": f["rdma.max"] = ""; break;
        }
    }

    private static void AddV2(Dictionary<string, string> f, string c)
    {
        switch (c)
        {
            case "cpu": f["cpu.weight"] = "100\n"; f["cpu.max"] = "max 100000\n"; f["cpu.max.burst"] = "0\n"; f["cpu.idle"] = "0\n"; break;
            case "cpuset": f["cpuset.cpus"] = ""; f["cpuset.mems"] = ""; f["cpuset.cpus.effective"] = "0-1\n"; f["cpuset.mems.effective"] = "0\n"; break;
            case "memory":
                f["memory.max"] = "max\n"; f["memory.low"] = "0\n"; f["memory.swap.max"] = "max\n"; f["memory.current"] = "0\n";
                f["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"; f["memory.stat"] = "anon 0\nfile 0\n"; f["memory.high"] = "max\n";
                f["memory.swap.current"] = "0\n";
                break;
            case "io": f["io.weight"] = "default 100\n"; f["io.max"] = ""; f["io.stat"] = ""; break;
            case "pids": f["pids.max"] = "max\n"; f["pids.current"] = "0\n"; break;
            case "hugetlb":
                foreach (var s in new[] { "2MB", "1GB" })
                {
                    f[$"hugetlb.{s}.max"] = "max\n"; f[$"hugetlb.{s}.rsvd.max"] = "max\n"; f[$"hugetlb.{s}.current"] = "0\n";
                    f[$"hugetlb.{s}.events"] = "max 0\n";
                }
                break;
            case "rdma": f["rdma.max"] = ""; break;
        }
    }
}
