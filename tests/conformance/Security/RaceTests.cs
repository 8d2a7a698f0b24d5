using System.Collections.Concurrent;
using NUnit.Framework;

namespace Runcs.Conformance.Security;

/// <summary>
/// Issue #8 "races": concurrent runtime invocations on distinct and on the same container. Every
/// operation succeeds or fails cleanly (exit 1, one line), the state stays consistent (the lock is
/// honoured) and nothing leaks: processes, mounts, cgroups, state directories, the caller's fds.
/// </summary>
[TestFixture, NonParallelizable, Category("Security")]
public class RaceTests
{
    /// <summary>50 concurrent `run`s of distinct containers on one --root: all succeed with their own output; nothing is left.</summary>
    [Test]
    public void Race_FiftyConcurrentRuns()
    {
        using var b = new Bundle();
        var tag = Guid.NewGuid().ToString("N")[..6];
        b.Linux.Remove("cgroupsPath");
        b.Sh("echo hello-$(hostname)");
        b.SaveConfig();
        var beforeInit = Bundle.RuncsInitPids();
        var results = new ConcurrentDictionary<string, Result>();
        var ids = Enumerable.Range(0, 50).Select(i => $"race{tag}-{i}").ToList();
        var threads = ids.Select(id => new Thread(() =>
        {
            var io = Path.Combine(b.Dir, "io-" + id);
            results[id] = Bundle.ExecToFiles(Env.Runcs, ["--root", b.RuncsRoot, "run", "--bundle", b.Dir, id], io + ".out", io + ".err", 120_000);
        })).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        b.OnCleanup(() => { foreach (var id in ids) Run.Exec(Env.Runcs, ["--root", b.RuncsRoot, "delete", "--force", id]); });
        var failed = results.Where(r => r.Value.ExitCode != 0).Select(r => $"{r.Key}: {r.Value}").ToList();
        Assert.That(failed, Is.Empty);
        foreach (var (id, r) in results) Assert.That(r.Stdout, Does.Contain("hello-"), id);
        Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state directories left behind");
        Assert.That(Sec.Eventually(() => !Bundle.RuncsInitPids().Except(beforeInit).Any()), "runcs init processes left behind");
        Assert.That(Sec.CgroupDirs("race" + tag), Is.Empty, "cgroups left behind");
    }

    /// <summary>
    /// start, kill, delete and state hammered concurrently on one created container: every call exits 0 or 1
    /// with one line; `state` always parses and reports a status consistent with the process; after the
    /// storm, delete --force leaves nothing.
    /// </summary>
    [Test]
    public void Race_StartKillDeleteState_OnOneId()
    {
        using var b = new Bundle();
        b.Linux.Remove("cgroupsPath");
        for (int round = 0; round < 5; round++)
        {
            b.Args("sleep", "30");
            var id = b.NewId("rk");
            Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
            int pid = b.State(id)!["pid"]!.GetValue<int>();
            var results = new ConcurrentBag<(string Op, Result R)>();
            var ops = new List<string[]>
            {
                new[] { "start", id }, new[] { "kill", id, "KILL" }, new[] { "delete", id }, new[] { "state", id }, new[] { "state", id },
                new[] { "start", id }, new[] { "kill", id, "TERM" }, new[] { "delete", id }, new[] { "state", id }, new[] { "list" },
            };
            var threads = ops.Select((op, i) => new Thread(() =>
            {
                var io = Path.Combine(b.Dir, $"io-{round}-{i}");
                results.Add((string.Join(' ', op), Bundle.ExecToFiles(Env.Runcs, ["--root", b.RuncsRoot, .. op], io + ".out", io + ".err", 60_000)));
            })).ToList();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            foreach (var (op, r) in results)
            {
                Sec.OkOrCleanFailure(r, op + ": ");
                if (op.StartsWith("state") && r.ExitCode == 0)
                    Assert.That(System.Text.Json.Nodes.JsonNode.Parse(r.Stdout)!["status"]!.GetValue<string>(), Is.AnyOf("created", "running", "stopped"), r.Stdout);
            }
            // Whatever happened, the state now tells the truth.
            var st = b.Status(id);
            bool alive = File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");
            if (st is "created" or "running") Assert.That(alive, $"state says {st} but pid {pid} is gone");
            var del = b.Runcs("delete", "--force", id);
            if (del.ExitCode != 0) Assert.That(del.Stderr, Does.Contain("not exist").Or.Contain("no such"), del.ToString());
            Assert.That(Sec.Eventually(() => !File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ")), $"pid {pid} survived delete --force");
            Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state left behind");
        }
    }

    /// <summary>`delete --force` while an `exec` is starting: both finish (no hang), exec succeeds or fails cleanly, no exec'd process survives.</summary>
    [Test]
    public void Race_DeleteWhileExecStarting()
    {
        using var b = new Bundle(copyRootfs: true);
        for (int round = 0; round < 5; round++)
        {
            b.Args("sleep", "60");
            var id = b.NewId("de");
            Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
            Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
            Result? exec = null;
            var t = new Thread(() =>
            {
                var io = Path.Combine(b.Dir, $"exec-{round}");
                exec = Bundle.ExecToFiles(Env.Runcs, ["--root", b.RuncsRoot, "exec", id, "sleep", "50"], io + ".out", io + ".err", 60_000);
            });
            t.Start();
            Thread.Sleep(round * 7);
            var del = b.Runcs("delete", "--force", id);
            Assert.That(t.Join(30_000), "exec hung after delete --force");
            Assert.That(del.ExitCode, Is.EqualTo(0), del.ToString());
            // exec: 0/1 (clean), or the killed process's status (137) when it had started.
            Assert.That(exec!.ExitCode, Is.AnyOf(0, 1, 137), exec.ToString());
            if (exec.ExitCode == 1) Sec.CleanFailure(exec);
            Assert.That(Sec.Eventually(() => Sec.ProcessesRootedIn(b.RootfsPath).Count == 0), "processes survived: " + string.Join(' ', Sec.ProcessesRootedIn(b.RootfsPath)));
            Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty);
        }
    }

    /// <summary>The container's pid 1 (init) is killed during create (by a prestart hook): create fails cleanly and rolls back.</summary>
    [Test]
    public void Race_Pid1ExitsDuringCreate()
    {
        using var b = new Bundle();
        b.Linux["cgroupsPath"] = Sec.PrivateCgroup(b, "p1");
        var hook = b.Script("kill-init.sh", "read s; pid=$(echo \"$s\" | sed 's/.*\"pid\": *\\([0-9]*\\).*/\\1/'); kill -9 \"$pid\"; sleep 0.2");
        b.AddHook("createRuntime", hook);
        b.Args("true");
        var id = b.NewId();
        var before = Bundle.RuncsInitPids();
        var r = b.Create(id);
        Sec.CleanFailure(r);
        Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state left behind");
        Assert.That(Sec.Eventually(() => !Bundle.RuncsInitPids().Except(before).Any()), "init left behind");
        Assert.That(Sec.CgroupDirs(b.Linux["cgroupsPath"]!.GetValue<string>()), Is.Empty, "cgroup left behind");
        Assert.That(b.State(id), Is.Null);
    }
}
