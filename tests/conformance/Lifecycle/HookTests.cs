using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>config.md "POSIX-platform Hooks" and runtime.md "Lifecycle" steps: each hook kind runs at its
/// moment, in its namespace, with the state on stdin, its args, env and timeout.</summary>
[TestFixture, NonParallelizable]
public class HookTests
{
    private static string HookScript(Bundle b, string outDir) => b.Script("hook.sh",
        $"kind=$1\n{{ /bin/cat; echo; }} > '{outDir}'/$kind.json\n/bin/readlink /proc/self/ns/mnt > '{outDir}'/$kind.ns\necho \"$*|$(/bin/cat /proc/self/environ | /usr/bin/tr '\\0' ' ')\" > '{outDir}'/$kind.args");

    [Test]
    public void Config_Hooks_AllKinds_RunAtTheirMomentInTheirNamespace()
    {
        using var b = new Bundle();
        var outDir = b.Path_("hookout", mkdir: true);
        var hook = HookScript(b, outDir);
        string[] env = ["HOOKVAR=v1"];
        foreach (var kind in new[] { "prestart", "createRuntime", "createContainer", "poststart", "poststop" })
            b.AddHook(kind, hook, [hook, kind, "extra"], env);
        // startContainer runs in the container after pivot_root: its path resolves in the container (busybox).
        b.AddHook("startContainer", "/bin/sh",
            ["sh", "-c", "cat > /mnt/startContainer.json; echo >> /mnt/startContainer.json; readlink /proc/self/ns/mnt > /mnt/startContainer.ns; echo \"$0 $1|$(cat /proc/self/environ | tr '\\0' ' ')\" > /mnt/startContainer.args", "startContainer", "extra"], env);
        b.AddMount("/mnt", "bind", outDir, "rbind", "rw");
        b.Args("sh", "-c", "echo process-ran");
        var id = b.NewId();
        var c = b.Create(id);
        Assert.That(c.ExitCode, Is.EqualTo(0), c.ToString());
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        var containerMnt = new FileInfo($"/proc/{pid}/ns/mnt").LinkTarget;
        var hostMnt = LcAssert.HostNs("mnt");
        Assert.That(containerMnt, Is.Not.EqualTo(hostMnt));
        string F(string kind, string ext) => Path.Combine(outDir, $"{kind}.{ext}");
        foreach (var kind in new[] { "prestart", "createRuntime", "createContainer" })
            Assert.That(File.Exists(F(kind, "json")), $"{kind} did not run during create");
        Assert.That(File.Exists(F("startContainer", "json")), Is.False, "startContainer ran before start");
        Assert.That(File.Exists(F("poststart", "json")), Is.False, "poststart ran before start");

        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.ContainerOutput(id), Is.EqualTo("process-ran\n"));
        Assert.That(File.Exists(F("startContainer", "json")), "startContainer did not run");
        Assert.That(File.Exists(F("poststart", "json")), "poststart did not run");
        Assert.That(File.Exists(F("poststop", "json")), Is.False, "poststop ran before delete");
        var d = b.Runcs("delete", id);
        Assert.That(d.ExitCode, Is.EqualTo(0), d.ToString());
        Assert.That(File.Exists(F("poststop", "json")), "poststop did not run on delete");

        var expect = new Dictionary<string, (string Ns, string[] Status)>
        {
            ["prestart"] = (hostMnt, ["creating"]),
            ["createRuntime"] = (hostMnt, ["creating"]),
            ["createContainer"] = (containerMnt!, ["creating"]),
            ["startContainer"] = (containerMnt!, ["created", "running"]),
            ["poststart"] = (hostMnt, ["running", "stopped"]),
            ["poststop"] = (hostMnt, ["stopped"]),
        };
        foreach (var (kind, (ns, statuses)) in expect)
        {
            Assert.That(File.ReadAllText(F(kind, "ns")).Trim(), Is.EqualTo(ns), $"{kind} ran in the wrong mount namespace");
            var st = JsonNode.Parse(File.ReadAllText(F(kind, "json")))!.AsObject();
            Assert.That(st["id"]!.GetValue<string>(), Is.EqualTo(id), kind);
            // runtime.md "State": pid is required while created or running; runc omits it once stopped.
            if (kind != "poststop") Assert.That(st["pid"]!.GetValue<int>(), Is.EqualTo(pid), kind);
            Assert.That(st["ociVersion"]?.GetValue<string>(), Is.Not.Null.And.Not.Empty, kind);
            Assert.That(st["bundle"]!.GetValue<string>(), Is.EqualTo(b.Dir), kind);
            Assert.That(statuses, Does.Contain(st["status"]!.GetValue<string>()), $"{kind} state status");
            // env replaces the environment (exactly HOOKVAR, no PATH), args are passed as given (args[0] is the name).
            // (the shell adds PWD/SHLVL/PATH of its own; the runtime's environment, e.g. RUNCS_T_OUT, must not be there).
            var (args, environ) = (File.ReadAllText(F(kind, "args")).Split('|')[0], File.ReadAllText(F(kind, "args")).Split('|')[1]);
            Assert.That(args, Is.EqualTo($"{kind} extra"), $"{kind} args");
            Assert.That(environ.Split(' '), Does.Contain("HOOKVAR=v1"), $"{kind} env");
            Assert.That(environ, Does.Not.Contain("RUNCS_T_OUT"), $"{kind} env leaked the runtime's environment");
        }
    }

    [Test]
    public void Config_Hooks_CreateRuntimeFails_CreateFailsCleanly()
    {
        using var b = new Bundle();
        var hook = b.Script("fail.sh", "echo boom-from-hook >&2; exit 3");
        b.AddHook("createRuntime", hook);
        b.Args("true");
        var before = LcAssert.Take(b);
        var r = b.Create(b.NewId());
        LcAssert.FailedCleanly(b, r, before, "createRuntime", "boom-from-hook");
    }

    [Test]
    public void Config_Hooks_PrestartFails_CreateFailsCleanly()
    {
        using var b = new Bundle();
        b.AddHook("prestart", b.Script("fail.sh", "exit 1"));
        b.Args("true");
        var before = LcAssert.Take(b);
        LcAssert.FailedCleanly(b, b.Create(b.NewId()), before, "prestart");
    }

    [Test]
    public void Config_Hooks_CreateContainerFails_CreateFailsCleanly()
    {
        using var b = new Bundle();
        b.AddHook("createContainer", b.Script("fail.sh", "exit 1"));
        b.Args("true");
        var before = LcAssert.Take(b);
        LcAssert.FailedCleanly(b, b.Create(b.NewId()), before, "createContainer");
    }

    [Test]
    public void Config_Hooks_Timeout_KillsHookAndFailsCreate()
    {
        using var b = new Bundle();
        b.AddHook("createRuntime", b.Script("slow.sh", "exec /bin/sleep 30"), timeout: 1);
        b.Args("true");
        var before = LcAssert.Take(b);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = b.Create(b.NewId());
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(10_000), "the timeout was not honoured");
        LcAssert.FailedCleanly(b, r, before, "createRuntime", "timed out");
        Assert.That(Run.Exec("pgrep", ["-f", b.Dir + "/slow.sh"]).Stdout.Trim(), Is.Empty, "the timed-out hook is still running");
    }

    [Test]
    public void Config_Hooks_PoststopFails_OnlyWarns()
    {
        using var b = new Bundle();
        b.AddHook("poststop", b.Script("fail.sh", "exit 1"));
        b.Args("true");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        var d = b.Runcs("delete", id);
        Assert.That(d.ExitCode, Is.EqualTo(0), d.ToString());
        Assert.That(d.Stderr, Does.Contain("poststop"));
        Assert.That(Directory.Exists(Path.Combine(b.RuncsRoot, id)), Is.False);
    }

    [Test]
    public void Config_Hooks_PoststartFails_OnlyWarns()
    {
        using var b = new Bundle();
        b.AddHook("poststart", b.Script("fail.sh", "exit 1"));
        b.Args("sh", "-c", "echo ran");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        var s = b.Runcs("start", id);
        Assert.That(s.ExitCode, Is.EqualTo(0), s.ToString());
        Assert.That(s.Stderr, Does.Contain("poststart"));
        Assert.That(b.WaitStatus(id, "stopped"), Is.EqualTo("stopped"));
        Assert.That(b.ContainerOutput(id), Is.EqualTo("ran\n"));
    }
}
