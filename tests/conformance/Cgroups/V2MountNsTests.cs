using System.Diagnostics;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Cgroups;

/// <summary>
/// The pure cgroup v2 code paths, for real, on this hybrid host: a private mount namespace
/// (`unshare -m`) where /sys/fs/cgroup is replaced by a plain cgroup2 mount, so runcs detects a
/// pure-v2 layout. It is the same cgroup2 hierarchy as the host's /sys/fs/cgroup/unified, which owns
/// only hugetlb here (memory/cpu/pids/io stay bound to their v1 hierarchies while those are in use),
/// but the v2 core features work: cgroup.procs placement, cgroup.freeze, cgroup.kill, cgroup.events,
/// the eBPF device program, subtree_control, hugetlb. Every runcs call runs through `nsenter -t HOLDER -m`.
/// </summary>
[TestFixture, NonParallelizable]
public class V2MountNsTests : CgFixture
{
    private Process? _holder;

    [TearDown]
    public void KillHolder()
    {
        if (_holder is { HasExited: false }) { _holder.Kill(true); _holder.WaitForExit(5000); }
        _holder?.Dispose();
        _holder = null;
    }

    /// <summary>A process holding a private mount namespace with cgroup2 alone at /sys/fs/cgroup.</summary>
    private int StartHolder()
    {
        var psi = new ProcessStartInfo("unshare", ["-m", "--propagation", "private", "sh", "-c",
            "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && echo ready && exec sleep 600"])
        { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        _holder = Process.Start(psi)!;
        var line = _holder.StandardOutput.ReadLine();
        if (line != "ready") Assert.Fail("could not set up the cgroup2-only mount namespace: " + _holder.StandardError.ReadToEnd());
        return _holder.Id;
    }

    private static Result InNs(int holder, Bundle b, params string[] args) =>
        Run.Exec("nsenter", ["-t", holder.ToString(), "-m", Env.Runcs, "--root", b.RuncsRoot, .. args], timeoutMs: 30_000);

    [Test, Description("config-linux.md Control groups on a cgroup2-only layout: placement, hugetlb, devices (eBPF), freeze, kill --all (cgroup.kill), stats, removal")]
    public void PureV2_InAPrivateMountNamespace_CoreFeaturesWork()
    {
        if (!File.ReadAllText("/sys/fs/cgroup/unified/cgroup.controllers").Contains("hugetlb")) Assert.Ignore("the cgroup2 mount owns no hugetlb here");
        int holder = StartHolder();
        var ls = Run.Exec("nsenter", ["-t", holder.ToString(), "-m", "sh", "-c", "grep cgroup /proc/self/mountinfo"]);
        Assert.That(LcLines(ls.Stdout), Has.Length.EqualTo(1).And.All.Contains(" /sys/fs/cgroup ").And.All.Contains("cgroup2"), ls.Stdout);

        var rel = NewPath("v2ns");
        using var b = NewBundle(rel, JsonNode.Parse("""
            {"devices":[{"allow":false,"access":"rwm"},{"allow":false,"type":"c","major":10,"minor":229,"access":"rwm"}],
             "hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}
            """)!.AsObject());
        if (b.Linux["devices"] is not JsonArray devs) b.Linux["devices"] = devs = new JsonArray();
        devs.Add(JsonNode.Parse("""{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438}"""));
        b.Sh("head -c1 /dev/fuse 2>&1; echo fuse=$?; head -c1 /dev/null && echo null-ok; cat /sys/fs/cgroup/hugetlb.2MB.max; sleep 300 & sleep 301 & wait");
        b.SaveConfig();
        var id = b.NewId("v2");
        b.OnCleanup(() => { if (_holder is { HasExited: false }) InNs(holder, b, "delete", "--force", id); });
        var outFile = b.Path_("v2.out");
        // create with the container's stdout on a file (through sh, inside the namespace).
        var c = Run.Exec("nsenter", ["-t", holder.ToString(), "-m", "sh", "-c", "exec \"$@\" >\"$0\" 2>&1 </dev/null", outFile,
            Env.Runcs, "--root", b.RuncsRoot, "create", "--bundle", b.Dir, id], timeoutMs: 30_000);
        Assert.That(c.ExitCode, Is.EqualTo(0), "create in the v2 namespace: " + c + File.ReadAllText(outFile));

        // Pure v2 detected: one cgroup2 directory recorded, no v1 ones.
        var st = JsonNode.Parse(File.ReadAllText(Path.Combine(b.RuncsRoot, id, "state.json")))!;
        var paths = st["cgroupPaths"]!.AsObject();
        Assert.That(paths.Select(kv => kv.Key), Is.EqualTo(new[] { "" }), paths.ToJsonString());
        var v2dir = paths[""]!.GetValue<string>();
        Assert.That(v2dir, Is.EqualTo("/sys/fs/cgroup/" + rel), "relative to our own cgroup2 path (/ here)");
        var hostDir = CgHost.UnifiedDir(rel); // the same cgroup seen from the host's hybrid mount
        Assert.That(CgHost.Read(hostDir, "hugetlb.2MB.max"), Is.EqualTo("4194304"));
        int init = JsonNode.Parse(InNs(holder, b, "state", id).Stdout)!["pid"]!.GetValue<int>();
        Assert.That(File.ReadAllLines($"/proc/{init}/cgroup"), Does.Contain("0::/" + rel));

        Assert.That(InNs(holder, b, "start", id).ExitCode, Is.EqualTo(0));
        Assert.That(Eventually(() => File.ReadAllText(outFile).Contains("4194304")), Is.True, File.ReadAllText(outFile));
        var output = File.ReadAllText(outFile);
        // The v1 devices cgroup of the container is the host root's (allow all): the denial is the eBPF program's.
        Assert.That(output, Does.Contain("/dev/fuse: Operation not permitted").And.Contain("fuse=1").And.Contain("null-ok"), output);
        Assert.That(Eventually(() => CgHost.Read(hostDir, "cgroup.procs").Split('\n').Length == 3), Is.True);
        var pids = CgHost.Read(hostDir, "cgroup.procs").Split('\n').Select(int.Parse).ToList();

        // Freezer: cgroup.freeze + cgroup.events.
        Assert.That(InNs(holder, b, "pause", id).ExitCode, Is.EqualTo(0));
        Assert.That(CgHost.Read(hostDir, "cgroup.events"), Does.Contain("frozen 1"));
        Assert.That(JsonNode.Parse(InNs(holder, b, "state", id).Stdout)!["status"]!.GetValue<string>(), Is.EqualTo("paused"));
        TestContext.Out.WriteLine("v2-frozen task states: " + string.Join(", ", pids.Select(p => $"{p}={ProcState(p)}")));
        Assert.That(InNs(holder, b, "resume", id).ExitCode, Is.EqualTo(0));
        Assert.That(CgHost.Read(hostDir, "cgroup.events"), Does.Contain("frozen 0"));

        var stats = InNs(holder, b, "events", "--stats", id);
        Assert.That(stats.ExitCode, Is.EqualTo(0), stats.ToString());
        Assert.That(JsonNode.Parse(stats.Stdout)!["data"]!["hugetlb"]!["2MB"], Is.Not.Null, stats.Stdout);
        var ps = InNs(holder, b, "ps", "--format", "json", id);
        Assert.That(JsonNode.Parse(ps.Stdout)!.AsArray().Select(n => n!.GetValue<int>()), Is.EquivalentTo(pids));

        // kill --all KILL uses cgroup.kill on v2.
        Assert.That(InNs(holder, b, "kill", "--all", id, "KILL").ExitCode, Is.EqualTo(0));
        Assert.That(Eventually(() => pids.All(p => !Alive(p))), Is.True);
        var d = InNs(holder, b, "delete", id);
        Assert.That(d.ExitCode, Is.EqualTo(0), d.ToString());
        AssertGone(rel, "after delete in the v2 namespace");
    }

    private static string[] LcLines(string s) => ResourceTests.LcLines(s);
}
