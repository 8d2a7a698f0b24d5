using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Cgroups;

/// <summary>
/// The cgroup operations of runtime-spec config-linux.md "Control groups" (and the runc CLI around
/// them) on running containers of this hybrid host: OOM events, pids.max against a fork bomb,
/// update, pause/resume, ps, kill --all, exec placement, cgroupsPath forms, removal on delete.
/// </summary>
[TestFixture, NonParallelizable]
public class OperationTests : CgFixture
{
    private const string DenyAll = """{"allow":false,"access":"rwm"}""";

    private static JsonObject Res(string json) => JsonNode.Parse(json)!.AsObject();

    private static string[] Lines(string s) => ResourceTests.LcLines(s);

    private static List<int> PsJson(Bundle b, string id)
    {
        var r = b.Runcs("ps", "--format", "json", id);
        Assert.That(r.ExitCode, Is.EqualTo(0), "ps --format json: " + r);
        return JsonNode.Parse(r.Stdout)!.AsArray().Select(n => n!.GetValue<int>()).ToList();
    }

    private static JsonObject StoredState(Bundle b, string id) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(b.RuncsRoot, id, "state.json")))!.AsObject();

    private static JsonObject Stats(Bundle b, string id)
    {
        var r = b.Runcs("events", "--stats", id);
        Assert.That(r.ExitCode, Is.EqualTo(0), "events --stats: " + r);
        var ev = JsonNode.Parse(r.Stdout)!.AsObject();
        Assert.That(ev["type"]!.GetValue<string>(), Is.EqualTo("stats"));
        Assert.That(ev["id"]!.GetValue<string>(), Is.EqualTo(id));
        return ev["data"]!.AsObject();
    }

    // ---------------------------------------------------------------- OOM and stats

    [Test, Description("config-linux.md Memory (limit, swap): exceeding the limit OOM-kills; `events` streams an oom event")]
    public void Memory_LimitCausesOomKill_ReportedByEventsStream()
    {
        var rel = NewPath("oom");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":16777216,"swap":16777216},"devices":[{{DenyAll}}]}"""));
        // A shell string doubling past 16 MiB (pid 1 itself grows, so the OOM killer takes the container's init).
        b.Sh("x=0123456789abcdef; while :; do x=$x$x; done");
        var id = b.NewId("oom");
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        var (ev, outFile, errFile) = Background(b, "events", "--interval", "1s", id);
        Assert.That(Eventually(() => File.Exists(outFile) && File.ReadAllText(outFile).Contains("\"type\":\"stats\"")), Is.True,
            "events printed no stats line: " + (File.Exists(errFile) ? File.ReadAllText(errFile) : ""));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped", 30_000), Is.EqualTo("stopped"), "the OOM killer should end the container");
        Assert.That(ev.WaitForExit(10_000), Is.True, "events should end when the container stops");
        var events = Lines(File.ReadAllText(outFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.That(events.Any(e => e["type"]!.GetValue<string>() == "oom" && e["id"]!.GetValue<string>() == id), Is.True,
            "no oom event in:\n" + File.ReadAllText(outFile) + "\nstderr: " + File.ReadAllText(errFile));
        var oomControl = CgHost.Read(CgHost.V1Dir("memory", rel), "memory.oom_control");
        Assert.That(oomControl, Does.Match(@"oom_kill [1-9]"), "kernel's OOM-kill counter: " + oomControl);
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after delete");
    }

    [Test, Description("config-linux.md Memory + PIDs: `events --stats` reports memory usage/limit and pids current/limit of a running container")]
    public void EventsStats_MemoryUsageAndPidsCurrent()
    {
        var rel = NewPath("stats");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":67108864},"pids":{"limit":30},"devices":[{{DenyAll}}]}"""));
        b.Sh("sleep 300 & sleep 301 & wait");
        var id = b.NewId("st");
        CreateStart(b, id);
        Assert.That(Eventually(() => PsJson(b, id).Count == 3), Is.True);
        var d = Stats(b, id);
        Assert.That(d["memory"]!["usage"]!["usage"]!.GetValue<ulong>(), Is.GreaterThan(0UL));
        Assert.That(d["memory"]!["usage"]!["limit"]!.GetValue<ulong>(), Is.EqualTo(67108864UL));
        Assert.That(d["pids"]!["current"]!.GetValue<ulong>(), Is.EqualTo(3UL));
        Assert.That(d["pids"]!["limit"]!.GetValue<ulong>(), Is.EqualTo(30UL));
        Assert.That(d["cpu"]!["usage"]!["total"]!.GetValue<ulong>(), Is.GreaterThan(0UL));
        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after delete --force");
    }

    // ---------------------------------------------------------------- pids.max vs a fork bomb

    [Test, Description("config-linux.md PIDs: pids.max stops a fork bomb; the bomb gets EAGAIN (\"can't fork\"), the host stays healthy")]
    public void Pids_LimitStopsAForkBomb()
    {
        const int limit = 24;
        var rel = NewPath("bomb");
        using var b = NewBundle(rel, Res($$"""{"pids":{"limit":{{limit}}},"devices":[{{DenyAll}}]}"""));
        // pid 1 lights the bomb and then execs sleep (no fork needed); bomb processes are reparented to it and stay as zombies.
        b.Sh("exec 2>&1; echo lit; (b(){ b|b& }; b); exec sleep 300");
        var id = b.NewId("bomb");
        CreateStart(b, id);
        var dir = CgHost.V1Dir("pids", rel);
        int maxSeen = 0;
        bool sawFailure = Eventually(() =>
        {
            maxSeen = Math.Max(maxSeen, int.Parse(CgHost.Read(dir, "pids.current")));
            return b.ContainerOutput(id).Contains("can't fork");
        }, 15_000);
        Assert.That(sawFailure, Is.True, "no fork failure reported: " + b.ContainerOutput(id));
        Assert.That(maxSeen, Is.LessThanOrEqualTo(limit));
        var events = CgHost.Read(dir, "pids.events");
        Assert.That(events, Does.Match(@"max [1-9]"), "pids.events: " + events);
        Assert.That(b.ContainerOutput(id), Does.Contain("Resource temporarily unavailable"), "EAGAIN");
        // The host still forks.
        var t = Run.Exec("/bin/true", []);
        Assert.That(t.ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("kill", "--all", id, "KILL").ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped", 15_000), Is.EqualTo("stopped"));
        Assert.That(Eventually(() => CgHost.Read(dir, "cgroup.procs").Length == 0), Is.True, "bomb processes left: " + CgHost.Read(dir, "cgroup.procs"));
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after delete");
    }

    // ---------------------------------------------------------------- update

    [Test, Description("config-linux.md Memory/CPU/PIDs via `runcs update` flags and `--resources -`: cgroup files, the container's view, events --stats and the stored state change")]
    public void Update_FlagsAndResourcesJson_ChangeLimitsOfARunningContainer()
    {
        var rel = NewPath("upd");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":67108864},"pids":{"limit":100},"cpu":{"quota":50000,"period":100000},"devices":[{{DenyAll}}]}"""));
        b.Args("sleep", "300");
        var id = b.NewId("up");
        CreateStart(b, id);
        string mem = CgHost.V1Dir("memory", rel), pids = CgHost.V1Dir("pids", rel), cpu = CgHost.V1Dir("cpu", rel);
        Assert.That(CgHost.Read(mem, "memory.limit_in_bytes"), Is.EqualTo("67108864"));

        var u = b.Runcs("update", "--memory", "128M", "--pids-limit", "50", "--cpu-quota", "30000", id);
        Assert.That(u.ExitCode, Is.EqualTo(0), "update flags: " + u);
        Assert.That(CgHost.Read(mem, "memory.limit_in_bytes"), Is.EqualTo("134217728"));
        Assert.That(CgHost.Read(pids, "pids.max"), Is.EqualTo("50"));
        Assert.That(CgHost.Read(cpu, "cpu.cfs_quota_us"), Is.EqualTo("30000"));
        Assert.That(CgHost.Read(cpu, "cpu.cfs_period_us"), Is.EqualTo("100000"), "period kept");
        // A fresh runcs reading the container from its state: stats and the stored resources.
        var st = Stats(b, id);
        Assert.That(st["memory"]!["usage"]!["limit"]!.GetValue<ulong>(), Is.EqualTo(134217728UL));
        Assert.That(st["pids"]!["limit"]!.GetValue<ulong>(), Is.EqualTo(50UL));
        var stored = StoredState(b, id)["config"]!["linux"]!["resources"]!;
        Assert.That(stored["memory"]!["limit"]!.GetValue<long>(), Is.EqualTo(134217728L));
        Assert.That(stored["pids"]!["limit"]!.GetValue<long>(), Is.EqualTo(50L));
        Assert.That(stored["cpu"]!["quota"]!.GetValue<long>(), Is.EqualTo(30000L));
        Assert.That(stored["cpu"]!["period"]!.GetValue<ulong>(), Is.EqualTo(100000UL));

        var j = RuncsStdin(b, """{"memory":{"limit":100663296},"pids":{"limit":40},"cpu":{"shares":256}}""", "update", "--resources", "-", id);
        Assert.That(j.ExitCode, Is.EqualTo(0), "update --resources -: " + j);
        Assert.That(CgHost.Read(mem, "memory.limit_in_bytes"), Is.EqualTo("100663296"));
        Assert.That(CgHost.Read(pids, "pids.max"), Is.EqualTo("40"));
        Assert.That(CgHost.Read(cpu, "cpu.shares"), Is.EqualTo("256"));
        Assert.That(CgHost.Read(cpu, "cpu.cfs_quota_us"), Is.EqualTo("30000"), "untouched by the JSON update");
        stored = StoredState(b, id)["config"]!["linux"]!["resources"]!;
        Assert.That(stored["memory"]!["limit"]!.GetValue<long>(), Is.EqualTo(100663296L));
        Assert.That(stored["pids"]!["limit"]!.GetValue<long>(), Is.EqualTo(40L));
        Assert.That(stored["cpu"]!["shares"]!.GetValue<ulong>(), Is.EqualTo(256UL));

        // The container's own view.
        var inside = b.Runcs("exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/cpu/cpu.shares");
        Assert.That(inside.ExitCode, Is.EqualTo(0), inside.ToString());
        Assert.That(Lines(inside.Stdout), Is.EqualTo(new[] { "100663296", "40", "256" }));

        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after delete --force");
    }

    // ---------------------------------------------------------------- pause / resume

    [Test, Description("runtime.md / runc pause: the v1 freezer freezes every process (state D on this kernel), `state` says paused, exec is refused, resume thaws")]
    public void Pause_FreezesEveryProcess_StatePaused_ExecRefused_ResumeRuns()
    {
        var rel = NewPath("pause");
        using var b = NewBundle(rel, Res($$"""{"devices":[{{DenyAll}}]}"""));
        b.Sh("sleep 300 & sleep 301 & wait");
        var id = b.NewId("pz");
        CreateStart(b, id);
        Assert.That(Eventually(() => PsJson(b, id).Count == 3), Is.True);
        var pids = PsJson(b, id);
        var fz = CgHost.V1Dir("freezer", rel);

        var p = b.Runcs("pause", id);
        Assert.That(p.ExitCode, Is.EqualTo(0), "pause: " + p);
        Assert.That(CgHost.Read(fz, "freezer.state"), Is.EqualTo("FROZEN"));
        Assert.That(b.Status(id), Is.EqualTo("paused"));
        // A v1-frozen task sleeps uninterruptibly in the refrigerator: /proc reports D (T on kernels that stop tasks instead).
        var states = pids.ToDictionary(x => x, ProcState);
        Assert.That(states.Values, Has.All.Matches<string?>(s => s is "D" or "T"), "states: " + string.Join(", ", states.Select(kv => $"{kv.Key}={kv.Value}")));
        TestContext.Out.WriteLine("frozen task states: " + string.Join(", ", states.Select(kv => $"{kv.Key}={kv.Value}")));

        var e = b.Runcs("exec", id, "true");
        Assert.That(e.ExitCode, Is.Not.EqualTo(0), "exec into a paused container must fail without --ignore-paused");
        Assert.That(e.Stderr, Does.Contain("paused"), e.ToString());
        Assert.That(b.Runcs("pause", id).ExitCode, Is.Not.EqualTo(0), "pausing a paused container");

        var r = b.Runcs("resume", id);
        Assert.That(r.ExitCode, Is.EqualTo(0), "resume: " + r);
        Assert.That(CgHost.Read(fz, "freezer.state"), Is.EqualTo("THAWED"));
        Assert.That(b.Status(id), Is.EqualTo("running"));
        Assert.That(Eventually(() => pids.All(x => ProcState(x) == "S")), Is.True, "thawed processes sleep again: " + string.Join(",", pids.Select(ProcState)));
        Assert.That(b.Runcs("exec", id, "true").ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("resume", id).ExitCode, Is.Not.EqualTo(0), "resuming a running container");

        // kill --all KILL of a paused container: the frozen tasks die (the cgroup is thawed for the kill).
        Assert.That(b.Runcs("pause", id).ExitCode, Is.EqualTo(0));
        var k = b.Runcs("kill", "--all", id, "KILL");
        Assert.That(k.ExitCode, Is.EqualTo(0), "kill --all KILL paused: " + k);
        Assert.That(Eventually(() => pids.All(x => !Alive(x))), Is.True, "left after kill --all KILL of a paused container: " + string.Join(",", pids.Where(Alive)));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after kill --all + delete of a paused container");
    }

    [TestCase("kill")]
    [TestCase("delete")]
    [Description("runtime.md kill / delete: SIGKILL to a paused container's init (kill ID KILL, delete --force) must take effect although v1 freezes it")]
    public void PausedContainer_KillInitOrDeleteForce_Stops(string how)
    {
        var rel = NewPath("pk");
        using var b = NewBundle(rel, Res($$"""{"devices":[{{DenyAll}}]}"""));
        b.Sh("sleep 300 & wait");
        var id = b.NewId("pk");
        CreateStart(b, id);
        Assert.That(Eventually(() => PsJson(b, id).Count == 2), Is.True);
        var pids = PsJson(b, id);
        Assert.That(b.Runcs("pause", id).ExitCode, Is.EqualTo(0));
        if (how == "kill")
        {
            var k = b.Runcs("kill", id, "KILL");
            Assert.That(k.ExitCode, Is.EqualTo(0), "kill KILL paused: " + k);
            Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"), "a paused container's init must die of SIGKILL");
            Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
        }
        else
        {
            var d = b.Runcs("delete", "--force", id);
            Assert.That(d.ExitCode, Is.EqualTo(0), "delete --force paused: " + d);
        }
        Assert.That(Eventually(() => pids.All(x => !Alive(x))), Is.True, "processes left: " + string.Join(",", pids.Where(Alive)));
        AssertGone(rel, $"after {how} of a paused container");
    }

    // ---------------------------------------------------------------- ps / exec / kill --all

    [Test, Description("runc ps: table and --format json list every process of the container's cgroup, including an `exec --detach`ed one; exec joins init's cgroups")]
    public void Ps_ListsInitAndExecDetached_ExecJoinsInitsCgroups()
    {
        var rel = NewPath("ps");
        using var b = NewBundle(rel, Res($$"""{"pids":{"limit":50},"devices":[{{DenyAll}}]}"""));
        b.Args("sleep", "300");
        var id = b.NewId("ps");
        CreateStart(b, id);
        int init = InitPid(b, id);
        var pidFile = b.Path_("exec.pid");
        var x = b.Runcs("exec", "--detach", "--pid-file", pidFile, id, "sleep", "302");
        Assert.That(x.ExitCode, Is.EqualTo(0), "exec --detach: " + x);
        int execPid = int.Parse(File.ReadAllText(pidFile).Trim());

        Assert.That(CgHost.ProcCgroup(execPid), Is.EqualTo(CgHost.ProcCgroup(init)), "exec'd process in init's cgroups (every hierarchy)");
        Assert.That(CgHost.ProcCgroup(init), Does.Contain("memory:" + CgHost.V1Dir("memory", rel)[CgHost.V1("memory")!.MountPoint.Length..]));
        // Foreground exec too: its /proc/self/cgroup (no cgroup namespace: host paths) equals init's.
        var fg = b.Runcs("exec", id, "cat", "/proc/self/cgroup");
        Assert.That(fg.ExitCode, Is.EqualTo(0), fg.ToString());
        Assert.That(fg.Stdout.Trim(), Is.EqualTo(CgHost.ProcCgroup(init)));

        var json = PsJson(b, id);
        Assert.That(json, Does.Contain(init).And.Contain(execPid), "ps --format json: " + string.Join(",", json));
        Assert.That(json, Is.EquivalentTo(CgHost.Read(CgHost.V1Dir("freezer", rel), "cgroup.procs").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)));

        var table = b.Runcs("ps", id);
        Assert.That(table.ExitCode, Is.EqualTo(0), table.ToString());
        var rows = Lines(table.Stdout);
        Assert.That(rows[0], Does.Contain("PID").And.Contain("CMD"));
        var pidCol = Array.IndexOf(rows[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PID");
        var tablePids = rows.Skip(1).Select(r => int.Parse(r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[pidCol])).ToList();
        Assert.That(tablePids, Is.EquivalentTo(json), table.Stdout);
        Assert.That(table.Stdout, Does.Contain("sleep 302"));

        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        Assert.That(Eventually(() => !Alive(execPid)), Is.True, "exec'd process left after delete --force");
        AssertGone(rel, "after delete --force");
    }

    [Test, Description("runc kill --all: every process of the cgroup gets the signal (host pid namespace, so killing init alone would orphan its children)")]
    public void KillAll_SignalsEveryProcess()
    {
        var rel = NewPath("killall");
        using var b = NewBundle(rel, Res($$"""{"devices":[{{DenyAll}}]}"""));
        b.RemoveNamespace("pid");
        b.Sh("sleep 300 & sleep 301 & wait");
        var id = b.NewId("ka");
        CreateStart(b, id);
        Assert.That(Eventually(() => PsJson(b, id).Count == 3), Is.True, "init + two sleeps");
        var pids = PsJson(b, id);
        var k = b.Runcs("kill", "--all", id, "KILL");
        Assert.That(k.ExitCode, Is.EqualTo(0), "kill --all: " + k);
        Assert.That(Eventually(() => pids.All(p => !Alive(p))), Is.True, "left alive: " + string.Join(",", pids.Where(Alive)));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.Runcs("delete", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after delete");
    }

    // ---------------------------------------------------------------- removal

    [Test, Description("config-linux.md Control groups / runtime.md delete: a container that ran to completion (run) leaves no cgroup in any hierarchy")]
    public void Delete_AfterRun_LeavesNothing()
    {
        var rel = NewPath("run");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":67108864},"pids":{"limit":10},"hugepageLimits":[{"pageSize":"2MB","limit":2097152}],"devices":[{{DenyAll}}]}"""));
        b.Sh("cat /proc/self/cgroup");
        var id = b.NewId("run");
        var r = b.RunContainer(id);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(b.ContainerOutput(id), Does.Contain(rel));
        AssertGone(rel, "after run (which deletes)");
    }

    [Test, Description("runtime.md delete --force of a running container, with a nested sub-cgroup the container made: everything removed")]
    public void DeleteForce_RunningWithSubCgroups_LeavesNothing()
    {
        var rel = NewPath("delf");
        using var b = NewBundle(rel, Res($$"""{"memory":{"limit":67108864},"devices":[{{DenyAll}}]}"""));
        b.Sh("sleep 300 & sleep 301 & wait");
        var id = b.NewId("df");
        CreateStart(b, id);
        Assert.That(Eventually(() => PsJson(b, id).Count == 3), Is.True);
        var pids = PsJson(b, id);
        // A nested cgroup like one a container manager inside would make, with a process moved into it.
        var sub = Path.Combine(CgHost.V1Dir("memory", rel), "nested");
        Directory.CreateDirectory(sub);
        File.WriteAllText(Path.Combine(sub, "cgroup.procs"), pids.Last().ToString());
        var d = b.Runcs("delete", "--force", id);
        Assert.That(d.ExitCode, Is.EqualTo(0), "delete --force: " + d);
        Assert.That(Eventually(() => pids.All(p => !Alive(p))), Is.True);
        AssertGone(rel, "after delete --force");
        Assert.That(Directory.Exists(Path.Combine(b.RuncsRoot, id)), Is.False);
    }

    [TestCase("hugepage", """{"hugepageLimits":[{"pageSize":"64KB","limit":65536}],"devices":[{"allow":false,"access":"rwm"}]}""", "64KB")]
    [TestCase("memsw", """{"memory":{"limit":67108864,"swap":1048576},"devices":[{"allow":false,"access":"rwm"}]}""", "memory")]
    [TestCase("netcls", """{"network":{"classID":1048577},"devices":[{"allow":false,"access":"rwm"}]}""", "net_cls cgroup controller is not available")]
    [TestCase("rdma", """{"rdma":{"mlx5_1":{"hcaHandles":3}},"devices":[{"allow":false,"access":"rwm"}]}""", "rdma cgroup controller is not available")]
    [Description("config-linux.md Control groups: a resource the host refuses fails create after the cgroups were made; the rollback removes them")]
    public void FailedCreate_LeavesNoCgroup(string tag, string resources, string expect)
    {
        var rel = NewPath("fail" + tag);
        using var b = NewBundle(rel, Res(resources));
        b.Args("true");
        var id = b.NewId("fc");
        var before = Bundle.RuncsInitPids();
        var c = b.Create(id);
        Assert.That(c.ExitCode, Is.Not.EqualTo(0), "create should fail: " + c);
        Assert.That(c.Stderr, Does.Contain(expect).IgnoreCase, c.ToString());
        Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state left after the failed create");
        Assert.That(Eventually(() => !Bundle.RuncsInitPids().Except(before).Any(), 3000), Is.True, "runcs init left");
        AssertGone(rel, "after the failed create");
    }

    // ---------------------------------------------------------------- cgroupsPath forms

    [Test, Description("config-linux.md cgroupsPath: absent → the runtime picks one (runcs: the container id, relative to its own cgroup in each hierarchy)")]
    public void CgroupsPath_Empty_IsTheIdRelativeToOurCgroup()
    {
        using var b = new Bundle();
        b.Linux.Remove("cgroupsPath");
        b.Args("sleep", "300");
        var id = "runcs-cgt-id" + Guid.NewGuid().ToString("N")[..8];
        Track(id);
        CreateStart(b, id);
        foreach (var ctrl in new[] { "memory", "cpu", "pids", "freezer", "devices", "cpuset", "blkio" })
            Assert.That(Directory.Exists(CgHost.V1Dir(ctrl, id)), Is.True, ctrl);
        Assert.That(Directory.Exists(CgHost.UnifiedDir(id)), Is.True, "unified");
        var paths = StoredState(b, id)["cgroupPaths"]!.AsObject();
        Assert.That(paths["memory"]!.GetValue<string>(), Is.EqualTo(CgHost.V1Dir("memory", id)));
        Assert.That(paths[""]!.GetValue<string>(), Is.EqualTo(CgHost.UnifiedDir(id)));
        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        AssertGone(id, "after delete --force");
    }

    [Test, Description("config-linux.md cgroupsPath: relative → relative to the runtime's own cgroup in each hierarchy (memory is nested here, the others at the root)")]
    public void CgroupsPath_Relative_JoinsOurOwnCgroupPerHierarchy()
    {
        var rel = NewPath("relp");
        using var b = NewBundle(rel, Res($$"""{"devices":[{{DenyAll}}]}"""));
        b.Args("sleep", "300");
        var id = b.NewId("rp");
        CreateStart(b, id);
        var lines = CgHost.ProcCgroup(InitPid(b, id)).Split('\n');
        foreach (var h in CgHost.All.Where(h => h.Controllers.Length > 0 || h.FsType == "cgroup2"))
        {
            var key = h.FsType == "cgroup2" ? "" : null;
            var expected = h.OwnDir[h.MountPoint.Length..] + "/" + rel;
            Assert.That(lines.Any(l => l.EndsWith(":" + expected) && (key == null ? h.Controllers.Any(c => l.Split(':')[1].Split(',').Contains(c)) : l.StartsWith("0::"))),
                Is.True, $"{h.MountPoint}: expected {expected} in\n{string.Join('\n', lines)}");
        }
        Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        AssertGone(rel, "after delete --force");
    }

    [Test, Description("config-linux.md cgroupsPath: absolute → taken from each hierarchy's root (here a path below our own deepest cgroup, so nothing escapes it)")]
    public void CgroupsPath_Absolute_UnderOurOwnCgroup()
    {
        var name = NewPath("abs");
        // Our deepest own cgroup (the memory one on the dev machine): an absolute path below it stays under our cgroup in every hierarchy.
        var deepest = CgHost.All.Select(h => h.OwnDir[h.MountPoint.Length..]).OrderByDescending(p => p.Length).First();
        var abs = deepest + "/" + name;
        // Ancestors of `abs` that do not exist yet in some hierarchy get created by the runtime (it never removes
        // parents): this test removes the ones it caused.
        var created = new List<string>();
        foreach (var h in CgHost.All)
        {
            var parts = abs.Trim('/').Split('/');
            var cur = h.MountPoint;
            foreach (var part in parts.SkipLast(1))
            {
                cur += "/" + part;
                if (!Directory.Exists(cur)) created.Add(cur);
            }
        }
        try
        {
            using var b = NewBundle(abs, Res($$"""{"memory":{"limit":67108864},"devices":[{{DenyAll}}]}"""));
            b.Args("sleep", "300");
            var id = b.NewId("ap");
            CreateStart(b, id);
            var lines = CgHost.ProcCgroup(InitPid(b, id)).Split('\n');
            Assert.That(lines.Where(l => !l.Contains("name=systemd")), Has.All.EndsWith(":" + abs), string.Join('\n', lines));
            // In the memory hierarchy that is exactly the relative form's place.
            Assert.That(Directory.Exists(CgHost.V1Dir("memory", name)), Is.True);
            Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
            foreach (var h in CgHost.All)
                Assert.That(Directory.Exists(h.MountPoint + abs), Is.False, $"{h.MountPoint}{abs} left after delete --force");
        }
        finally
        {
            CgHost.ForceRemove(CgHost.All.Select(h => h.MountPoint + abs).ToArray());
            foreach (var d in created.OrderByDescending(d => d.Length))
                try { if (Directory.Exists(d)) Directory.Delete(d); } catch (IOException e) { TestContext.Progress.WriteLine($"removing {d}: {e.Message}"); }
        }
    }

    [Test, Description("config-linux.md cgroupsPath with the systemd driver (slice:prefix:name): systemd is not running here → a clear error, nothing created")]
    public void CgroupsPath_SystemdForm_WithoutSystemd_ClearError()
    {
        if (Directory.Exists("/run/systemd/system")) Assert.Ignore("systemd is running on this host");
        var name = NewPath("sd");
        using var b = new Bundle();
        b.Linux["cgroupsPath"] = $"system.slice:runcs:{name}";
        b.Args("true");
        var id = b.NewId("sd");
        var existedSlice = CgHost.All.Where(h => Directory.Exists(Path.Combine(h.OwnDir, "system.slice"))).ToList();
        var c = b.Tool("runcs", ["create", "--bundle", b.Dir, id], globalArgs: ["--systemd-cgroup"]);
        Assert.That(c.ExitCode, Is.EqualTo(1), c.ToString());
        Assert.That(c.Stderr, Does.Contain("systemd is not running"), c.ToString());
        Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state left");
        AssertGone(name, "after the refused create");
        Assert.That(CgHost.All.Where(h => Directory.Exists(Path.Combine(h.OwnDir, "system.slice"))), Is.EquivalentTo(existedSlice), "a system.slice was created");
        foreach (var h in CgHost.All) Assert.That(Directory.Exists(Path.Combine(h.OwnDir, id)), Is.False, "a cgroup named after the id was created");
    }
}
