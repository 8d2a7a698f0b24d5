using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>config.md "Process" (args, env, cwd, user, umask, capabilities, rlimits, noNewPrivileges,
/// oomScoreAdj, scheduler, ioPriority) and the runtime's exec hygiene (fds, signals).</summary>
[TestFixture, NonParallelizable]
public class ProcessTests
{
    [Test]
    public void Config_Process_ArgsEnvCwd_MissingCwdCreated()
    {
        using var b = new Bundle(copyRootfs: true);
        b.Args("sh", "-c", "echo \"$0|$1|$FOO|$(pwd)\"; env | grep -c '^PATH='", "a0", "a 1");
        b.Process["env"]!.AsArray().Add("FOO=bar baz");
        b.Process["cwd"] = "/work/here";
        Assert.That(LcAssert.Lines(LcAssert.RunOk(b)), Is.EqualTo(new[] { "a0|a 1|bar baz|/work/here", "1" }));
        Assert.That(Directory.Exists(Path.Combine(b.RootfsPath, "work/here")));
    }

    [Test]
    public void Config_Process_User_UidGidAdditionalGids()
    {
        using var b = new Bundle();
        b.Process["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1001, ["additionalGids"] = new JsonArray(10, 20) };
        b.Sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status; id");
        var o = LcAssert.RunOk(b);
        var st = LcAssert.Status(o);
        Assert.That(st["Uid"].Split('\t'), Is.EqualTo(new[] { "1000", "1000", "1000", "1000" }));
        Assert.That(st["Gid"].Split('\t'), Is.EqualTo(new[] { "1001", "1001", "1001", "1001" }));
        Assert.That(st["Groups"].Split(' ', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "10", "20" }));
        Assert.That(o, Does.Contain("uid=1000 gid=1001"));
    }

    [Test]
    public void Config_Process_User_Umask()
    {
        using var b = new Bundle();
        b.Process["user"]!["umask"] = 23; // 0027
        b.Sh("umask");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo("0027"));
    }

    [Test]
    public void Config_Process_User_DefaultUmaskIs0022()
    {
        using var b = new Bundle();
        b.Sh("umask");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo("0022"));
    }

    private static ulong Mask(params int[] caps) => caps.Aggregate(0UL, (m, c) => m | (1UL << c));

    private static Dictionary<string, ulong> CapSets(string status)
    {
        var st = LcAssert.Status(status);
        return new[] { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" }
            .ToDictionary(k => k, k => Convert.ToUInt64(st[k], 16));
    }

    [Test]
    public void Config_Process_Capabilities_AllFiveSets_NonRoot()
    {
        // config.md "capabilities". For a non-root process without file capabilities execve keeps
        // permitted = effective = ambient, so with ambient = permitted = effective every set is checkable as given.
        using var b = new Bundle();
        b.Process["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
        string[] small = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
        b.Process["capabilities"] = new JsonObject
        {
            ["bounding"] = LcAssert.Arr(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]),
            ["effective"] = LcAssert.Arr(small), ["permitted"] = LcAssert.Arr(small),
            ["inheritable"] = LcAssert.Arr(small), ["ambient"] = LcAssert.Arr(small),
        };
        b.Args("cat", "/proc/self/status");
        var caps = CapSets(LcAssert.RunOk(b));
        Assert.That(caps["CapBnd"], Is.EqualTo(Mask(0, 5, 10, 21)).Or.EqualTo(Mask(0, 5, 10, 21)), "bounding");
        Assert.That(caps["CapInh"], Is.EqualTo(Mask(5, 10)), "inheritable");
        Assert.That(caps["CapPrm"], Is.EqualTo(Mask(5, 10)), "permitted");
        Assert.That(caps["CapEff"], Is.EqualTo(Mask(5, 10)), "effective");
        Assert.That(caps["CapAmb"], Is.EqualTo(Mask(5, 10)), "ambient");
    }

    [Test]
    public void Config_Process_Capabilities_RootDefaultSpec()
    {
        // Root without file caps: execve gives permitted = effective = bounding | inheritable (| ambient).
        using var b = new Bundle();
        b.Args("cat", "/proc/self/status");
        var caps = CapSets(LcAssert.RunOk(b));
        var expected = Mask(29, 5, 10); // CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE from `runcs spec`
        Assert.That(caps["CapBnd"], Is.EqualTo(expected));
        Assert.That(caps["CapPrm"], Is.EqualTo(expected));
        Assert.That(caps["CapEff"], Is.EqualTo(expected));
        // Ambient needs the cap in permitted and inheritable; `runcs spec` has no inheritable set, so none can be raised.
        Assert.That(caps["CapAmb"], Is.EqualTo(0UL));
        Assert.That(caps["CapInh"], Is.EqualTo(0UL));
    }

    [Test]
    public void Config_Process_Rlimits_NofileSoftHard()
    {
        using var b = new Bundle();
        b.Process["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 1000, ["hard"] = 2000 });
        b.Sh("grep 'Max open files' /proc/self/limits; ulimit -n");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(System.Text.RegularExpressions.Regex.Split(lines[0], @"\s{2,}"), Is.EqualTo(new[] { "Max open files", "1000", "2000", "files" }));
        Assert.That(lines[1], Is.EqualTo("1000"));
    }

    [Test]
    public void Config_Process_Rlimits_AboveHostHardLimit_ClearErrorAtCreate()
    {
        // No CAP_SYS_RESOURCE on this machine: a hard limit above the inherited one cannot be set.
        using var b = new Bundle();
        var hostHard = Run.Exec("sh", ["-c", "ulimit -Hn"]).Stdout.Trim();
        b.Process["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 1024, ["hard"] = long.Parse(hostHard) + 100000 });
        b.Args("true");
        var before = LcAssert.Take(b);
        var r = b.Create(b.NewId());
        LcAssert.FailedCleanly(b, r, before, "rlimit", "RLIMIT_NOFILE");
    }

    [TestCase(true, "1")]
    [TestCase(false, "0")]
    public void Config_Process_NoNewPrivileges(bool nnp, string expected)
    {
        using var b = new Bundle();
        b.Process["noNewPrivileges"] = nnp;
        b.Args("cat", "/proc/self/status");
        Assert.That(LcAssert.Status(LcAssert.RunOk(b))["NoNewPrivs"], Is.EqualTo(expected));
    }

    [Test]
    public void Config_Process_OomScoreAdj()
    {
        using var b = new Bundle();
        b.Process["oomScoreAdj"] = 500;
        b.Args("cat", "/proc/self/oom_score_adj");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo("500"));
    }

    [Test]
    public void Config_Process_Scheduler_BatchWithNice()
    {
        using var b = new Bundle();
        b.Process["scheduler"] = new JsonObject { ["policy"] = "SCHED_BATCH", ["nice"] = 5 };
        b.Args("cat", "/proc/self/stat");
        var stat = LcAssert.RunOk(b);
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields after "(comm)": f[0] is field 3; nice is field 19, policy field 41.
        Assert.That(f[19 - 3], Is.EqualTo("5"), "nice");
        Assert.That(f[41 - 3], Is.EqualTo("3"), "policy SCHED_BATCH");
    }

    [Test]
    public void Config_Process_IoPriority()
    {
        using var b = new Bundle();
        b.Process["ioPriority"] = new JsonObject { ["class"] = "IOPRIO_CLASS_BE", ["priority"] = 6 };
        b.Args("ionice", "-p", "1");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo("best-effort: prio 6"));
    }

    [Test]
    public void Runtime_NoLeakedFds_OnlyStdio()
    {
        // The container's fds are exactly 0 1 2 (and ls's own directory fd 3); fds 7, 8 of the caller must not leak.
        using var b = new Bundle();
        b.Args("ls", "/proc/self/fd");
        var r = b.Tool("runcs", ["run", "--bundle", b.Dir, b.NewId()], shellPrefix: "exec 7</etc/hostname 8</etc/hostname; ");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(LcAssert.Lines(r.Stdout), Is.EqualTo(new[] { "0", "1", "2", "3" }));
    }

    [Test]
    public void Runtime_PreserveFds_PassesExactlyN()
    {
        using var b = new Bundle();
        b.Sh("cat <&3; cat <&4; ls /proc/self/fd");
        var data = b.Path_("fd-data");
        File.WriteAllText(data, "preserved\n");
        var r = b.Tool("runcs", ["run", "--preserve-fds", "2", "--bundle", b.Dir, b.NewId()],
            shellPrefix: $"exec 3<'{data}' 4<'{data}' 7<'{data}' 8<'{data}'; ");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        // ls /proc/self/fd: 0 1 2, the preserved 3 4, and ls's own directory fd (5).
        Assert.That(LcAssert.Lines(r.Stdout), Is.EqualTo(new[] { "preserved", "preserved", "0", "1", "2", "3", "4", "5" }));
    }

    [Test]
    public void Runtime_Signals_UnblockedAndDefault()
    {
        // The caller ignores HUP and USR1; the container's process must start with default dispositions and no mask.
        using var b = new Bundle();
        b.Args("cat", "/proc/self/status");
        var r = b.Tool("runcs", ["run", "--bundle", b.Dir, b.NewId()], shellPrefix: "trap '' HUP USR1 PIPE; ");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var st = LcAssert.Status(r.Stdout);
        Assert.That(st["SigBlk"], Is.EqualTo("0000000000000000"));
        Assert.That(st["SigIgn"], Is.EqualTo("0000000000000000"));
    }
}
