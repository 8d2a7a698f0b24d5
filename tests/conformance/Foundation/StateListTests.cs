using System.Globalization;
using System.Text.Json;
using NUnit.Framework;

namespace Runcs.Conformance.Foundation;

/// <summary>
/// `state` and `list` of the built binary (runtime-spec runtime.md "State" and "Query State";
/// runc's list layout), over a --root this test writes by hand: a container directory whose
/// state.json names a live `sleep` this test spawns, with its real start time.
/// </summary>
[TestFixture]
public class StateListTests : TempDirTest
{
    private System.Diagnostics.Process? _sleep;
    private string Root => Path.Combine(Tmp, "root");

    [TearDown]
    public void KillSleep()
    {
        if (_sleep is null) return;
        try { if (!_sleep.HasExited) { _sleep.Kill(); _sleep.WaitForExit(5000); } } catch (InvalidOperationException) { }
        _sleep.Dispose();
        _sleep = null;
    }

    private const string RuncHeader = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n";

    private int SpawnSleep()
    {
        _sleep = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "300") { UseShellExecute = false })!;
        return _sleep.Id;
    }

    private static ulong StartTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return ulong.Parse(rest[19], CultureInfo.InvariantCulture);
    }

    /// <summary>Writes ROOT/ID/state.json the way create records a container.</summary>
    private string Fabricate(string id, int pid, ulong startTime, bool started = true)
    {
        var dir = Path.Combine(Root, id);
        Directory.CreateDirectory(dir);
        var state = new Dictionary<string, object>
        {
            ["id"] = id, ["pid"] = pid, ["pidStartTime"] = startTime, ["bundle"] = Path.Combine(Tmp, "bundle-" + id),
            ["rootfs"] = Path.Combine(Tmp, "bundle-" + id, "rootfs"), ["created"] = "2025-01-02T03:04:05.123456789Z",
            ["owner"] = "", ["annotations"] = new Dictionary<string, string> { ["org.test"] = "yes" }, ["started"] = started,
        };
        File.WriteAllText(Path.Combine(dir, "state.json"), JsonSerializer.Serialize(state));
        return dir;
    }

    // runc: "container does not exist", exit 1.
    [Test]
    public void State_UnknownId_ExitsOneWithOneLine()
    {
        var r = Run.Runcs("--root", Root, "state", "nosuch");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stdout, Is.Empty);
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.Stderr, Does.Contain("container does not exist"));
        Assert.That(Directory.Exists(Path.Combine(Root, "nosuch")), Is.False);
    }

    [Test]
    public void List_NonExistentRoot_PrintsOnlyRuncsHeader()
    {
        var r = Run.Runcs("--root", Root, "list");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout, Is.EqualTo(RuncHeader));
        Assert.That(Directory.Exists(Root), Is.False, "list does not create the root");
    }

    [Test]
    public void List_EmptyRoot_MatchesRuncByteForByte()
    {
        Directory.CreateDirectory(Root);
        var r = Run.Runcs("--root", Root, "list");
        Assert.That(r.Stdout, Is.EqualTo(RuncHeader));
        var j = Run.Runcs("--root", Root, "list", "--format", "json");
        Assert.That(j.ExitCode, Is.EqualTo(0));
        Assert.That(j.Stdout, Is.EqualTo("null\n"), "runc 1.1 prints null for an empty json list");
        var q = Run.Runcs("--root", Root, "list", "-q");
        Assert.That(q.ExitCode, Is.EqualTo(0));
        Assert.That(q.Stdout, Is.Empty);
        if (!File.Exists("/usr/sbin/runc") && !File.Exists("/usr/bin/runc")) return;
        var runcRoot = Path.Combine(Tmp, "runc-root");
        Directory.CreateDirectory(runcRoot);
        Assert.That(Run.Exec("runc", ["--root", runcRoot, "list"]).Stdout, Is.EqualTo(r.Stdout));
        Assert.That(Run.Exec("runc", ["--root", runcRoot, "list", "--format", "json"]).Stdout, Is.EqualTo(j.Stdout));
        Assert.That(Run.Exec("runc", ["--root", runcRoot, "list", "-q"]).Stdout, Is.EqualTo(q.Stdout));
    }

    // runtime-spec runtime.md: status is "running" while the container process runs, "stopped" after it exits.
    [Test]
    public void Fabricated_LiveProcess_IsRunning_ThenStoppedAfterKill()
    {
        int pid = SpawnSleep();
        Fabricate("c1", pid, StartTime(pid));

        var s = Run.Runcs("--root", Root, "state", "c1");
        Assert.That(s.ExitCode, Is.EqualTo(0), s.ToString());
        using (var doc = JsonDocument.Parse(s.Stdout))
        {
            var st = doc.RootElement;
            Assert.That(st.GetProperty("ociVersion").GetString(), Is.EqualTo("1.3.0"));
            Assert.That(st.GetProperty("id").GetString(), Is.EqualTo("c1"));
            Assert.That(st.GetProperty("status").GetString(), Is.EqualTo("running"));
            Assert.That(st.GetProperty("pid").GetInt32(), Is.EqualTo(pid));
            Assert.That(st.GetProperty("bundle").GetString(), Is.EqualTo(Path.Combine(Tmp, "bundle-c1")));
            Assert.That(st.GetProperty("annotations").GetProperty("org.test").GetString(), Is.EqualTo("yes"));
            Assert.That(st.GetProperty("created").GetString(), Is.EqualTo("2025-01-02T03:04:05.123456789Z"));
            Assert.That(st.TryGetProperty("rootfs", out _) && st.TryGetProperty("owner", out _), Is.True, "runc's extra fields");
            Assert.That(OfficialSchema.Evaluate("state-schema.json", s.Stdout).Valid, Is.True, OfficialSchema.Evaluate("state-schema.json", s.Stdout).Errors);
        }

        var l = Run.Runcs("--root", Root, "list");
        var rows = Lines(l.Stdout);
        Assert.That(rows, Has.Length.EqualTo(2), l.Stdout);
        Assert.That(rows[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..3], Is.EqualTo(new[] { "c1", pid.ToString(CultureInfo.InvariantCulture), "running" }));

        var lj = Run.Runcs("--root", Root, "list", "--format", "json");
        using (var doc = JsonDocument.Parse(lj.Stdout))
        {
            var e = doc.RootElement.EnumerateArray().Single();
            Assert.That(e.GetProperty("id").GetString(), Is.EqualTo("c1"));
            Assert.That(e.GetProperty("status").GetString(), Is.EqualTo("running"));
            Assert.That(e.GetProperty("pid").GetInt32(), Is.EqualTo(pid));
        }
        Assert.That(Run.Runcs("--root", Root, "list", "-q").Stdout, Is.EqualTo("c1\n"));

        _sleep!.Kill();
        _sleep.WaitForExit(5000);

        var s2 = Run.Runcs("--root", Root, "state", "c1");
        Assert.That(s2.ExitCode, Is.EqualTo(0), s2.ToString());
        using (var doc = JsonDocument.Parse(s2.Stdout))
        {
            Assert.That(doc.RootElement.GetProperty("status").GetString(), Is.EqualTo("stopped"));
            Assert.That(doc.RootElement.GetProperty("pid").GetInt32(), Is.EqualTo(0));
        }
        var l2 = Lines(Run.Runcs("--root", Root, "list").Stdout);
        Assert.That(l2[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..3], Is.EqualTo(new[] { "c1", "0", "stopped" }));
    }

    // DESIGN.md "State": a pid whose start time differs is a reused pid, not our container.
    [Test]
    public void Fabricated_WrongStartTime_IsStopped()
    {
        int pid = SpawnSleep();
        Fabricate("c1", pid, StartTime(pid) + 1);
        using var doc = JsonDocument.Parse(Run.Runcs("--root", Root, "state", "c1").Stdout);
        Assert.That(doc.RootElement.GetProperty("status").GetString(), Is.EqualTo("stopped"));
    }

    // runtime-spec runtime.md: "created" until start; runcs knows it by exec.fifo still present.
    [Test]
    public void Fabricated_NotStartedWithFifo_IsCreated()
    {
        int pid = SpawnSleep();
        var dir = Fabricate("c1", pid, StartTime(pid), started: false);
        Assert.That(Run.Exec("mkfifo", [Path.Combine(dir, "exec.fifo")]).ExitCode, Is.EqualTo(0));
        using var doc = JsonDocument.Parse(Run.Runcs("--root", Root, "state", "c1").Stdout);
        Assert.That(doc.RootElement.GetProperty("status").GetString(), Is.EqualTo("created"));
    }

    [Test]
    public void List_SeveralContainers_SortedById_WithRuncColumnLayout()
    {
        int pid = SpawnSleep();
        var st = StartTime(pid);
        Fabricate("zeta", pid, st);
        Fabricate("a-very-long-container-id", pid, st);
        var rows = Lines(Run.Runcs("--root", Root, "list").Stdout);
        Assert.That(rows, Has.Length.EqualTo(3));
        Assert.That(rows[1], Does.StartWith("a-very-long-container-id   " + pid));
        Assert.That(rows[2], Does.StartWith("zeta" + new string(' ', "a-very-long-container-id".Length + 3 - 4) + pid));
        Assert.That(rows[0], Does.StartWith("ID" + new string(' ', "a-very-long-container-id".Length + 3 - 2) + "PID"));
    }
}
