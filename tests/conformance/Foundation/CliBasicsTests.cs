using System.Text.Json;
using NUnit.Framework;

namespace Runcs.Conformance.Foundation;

/// <summary>
/// The built binary's basic commands as runc defines them: --version, spec, features, help, and
/// the not-yet-implemented commands (issue #2: they must fail loudly, never succeed silently).
/// </summary>
[TestFixture]
public class CliBasicsTests : TempDirTest
{
    // runc --version: "runc version X\ncommit: C\nspec: S\n..."
    [Test]
    public void Version_PrintsVersionCommitSpec_CommitIsARealGitCommit()
    {
        var r = Run.Runcs("--version");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var lines = Lines(r.Stdout);
        Assert.That(lines[0], Does.Match(@"^runcs version \d+\.\d+\.\d+$"));
        Assert.That(lines[1], Does.Match(@"^commit: [0-9a-f]{7,40}$"), "built from git, so the commit must be baked in");
        Assert.That(lines[2], Is.EqualTo("spec: 1.3.0"));
        Assert.That(r.Stderr, Is.Empty);
        var commit = lines[1]["commit: ".Length..];
        if (!Directory.Exists(Path.Combine(Env.Repo, ".git")) && !File.Exists(Path.Combine(Env.Repo, ".git")))
            Assert.Ignore("not a git checkout: cannot check the commit");
        var git = Run.Exec("git", ["-C", Env.Repo, "cat-file", "-t", commit]);
        Assert.That(git.Stdout.Trim(), Is.EqualTo("commit"), $"{commit} is not a commit of {Env.Repo}: {git}");
    }

    [Test]
    public void ShortVersionFlag_Works()
    {
        var r = Run.Runcs("-v");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(r.Stdout, Does.StartWith("runcs version "));
    }

    // runtime-spec config.md; runc `spec`: writes config.json into --bundle.
    [Test]
    public void Spec_WritesConfigAcceptedByOfficialSchema()
    {
        var r = Run.Runcs("spec", "--bundle", Tmp);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout + r.Stderr, Is.Empty);
        var json = File.ReadAllText(Path.Combine(Tmp, "config.json"));
        var (valid, errors) = OfficialSchema.Evaluate("config-schema.json", json);
        Assert.That(valid, Is.True, errors);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("ociVersion").GetString(), Is.EqualTo("1.3.0"));
        Assert.That(root.GetProperty("root").GetProperty("path").GetString(), Is.EqualTo("rootfs"));
        Assert.That(root.GetProperty("process").GetProperty("args")[0].GetString(), Is.EqualTo("sh"));
        var ns = root.GetProperty("linux").GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()).ToArray();
        Assert.That(ns, Is.EquivalentTo(new[] { "pid", "network", "ipc", "uts", "mount" }));
        Assert.That(root.GetProperty("linux").TryGetProperty("uidMappings", out _), Is.False);
    }

    [Test]
    public void Spec_WithoutBundle_WritesIntoCurrentDirectory()
    {
        var r = Run.Exec(Env.Runcs, ["spec"], cwd: Tmp);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(Path.Combine(Tmp, "config.json")), Is.True);
    }

    // runc spec: "File config.json exists. Remove it first" and exit 1.
    [Test]
    public void Spec_RefusesToOverwrite_FileUnchanged()
    {
        var file = Path.Combine(Tmp, "config.json");
        File.WriteAllText(file, "{\"mine\": true}\n");
        var r = Run.Runcs("spec", "-b", Tmp);
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.Stderr, Does.Contain("exists"));
        Assert.That(File.ReadAllText(file), Is.EqualTo("{\"mine\": true}\n"));
    }

    [Test]
    public void Spec_Rootless_UserNamespaceWithCallersIds_NoNetworkNs_NoCgroupMount()
    {
        var r = Run.Runcs("spec", "--rootless", "--bundle=" + Tmp);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var json = File.ReadAllText(Path.Combine(Tmp, "config.json"));
        Assert.That(OfficialSchema.Evaluate("config-schema.json", json).Valid, Is.True);
        using var doc = JsonDocument.Parse(json);
        var linux = doc.RootElement.GetProperty("linux");
        var ns = linux.GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()).ToArray();
        Assert.That(ns, Does.Contain("user").And.Not.Contain("network"));
        var uid = Run.Exec("id", ["-u"]).Stdout.Trim();
        var gid = Run.Exec("id", ["-g"]).Stdout.Trim();
        var um = linux.GetProperty("uidMappings")[0];
        var gm = linux.GetProperty("gidMappings")[0];
        Assert.That(um.GetProperty("hostID").GetUInt32().ToString(), Is.EqualTo(uid));
        Assert.That(um.GetProperty("containerID").GetUInt32(), Is.EqualTo(0u));
        Assert.That(um.GetProperty("size").GetUInt32(), Is.EqualTo(1u));
        Assert.That(gm.GetProperty("hostID").GetUInt32().ToString(), Is.EqualTo(gid));
        var dests = doc.RootElement.GetProperty("mounts").EnumerateArray().Select(m => m.GetProperty("destination").GetString()).ToArray();
        Assert.That(dests, Does.Not.Contain("/sys/fs/cgroup"));
    }

    [Test]
    public void Spec_BundleMissing_ExitsOne()
    {
        var r = Run.Runcs("spec", "--bundle", Path.Combine(Tmp, "missing"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1));
    }

    // runtime-spec features.md; runc `features`.
    [Test]
    public void Features_IsValidAgainstOfficialFeaturesSchema()
    {
        var r = Run.Runcs("features");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var (valid, errors) = OfficialSchema.Evaluate("features-schema.json", r.Stdout);
        Assert.That(valid, Is.True, errors + "\n" + r.Stdout);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.That(doc.RootElement.GetProperty("ociVersionMax").GetString(), Is.EqualTo("1.3.0"));
        var commit = doc.RootElement.GetProperty("annotations").GetProperty("io.github.runcs.commit").GetString();
        var version = Run.Runcs("--version").Stdout;
        Assert.That(version, Does.Contain("\ncommit: " + commit + "\n"), "features and --version name the same commit");
    }

    [Test]
    public void Help_EveryCommandExitsZero()
    {
        foreach (var cmd in new[] { "create", "start", "run", "state", "kill", "delete", "list", "ps", "exec", "pause", "resume", "update", "events", "spec", "features", "checkpoint", "restore" })
        {
            var r = Run.Runcs(cmd, "--help");
            Assert.That(r.ExitCode, Is.EqualTo(0), cmd + ": " + r);
            Assert.That(r.Stdout, Does.Contain("runcs " + cmd + " - "), cmd);
        }
    }

    [Test]
    public void UnknownCommand_ExitsOneWithOneLine()
    {
        var r = Run.Runcs("--root", Tmp, "frobnicate");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("frobnicate"));
    }

    /// <summary>Every command, aimed at a container or bundle that does not exist.</summary>
    public static IEnumerable<TestCaseData> PendingCommands()
    {
        string[][] cmds =
        [
            ["create", "--bundle", "/nonexistent-bundle", "ct-x"], ["start", "ct-x"], ["run", "--bundle", "/nonexistent-bundle", "ct-x"],
            ["kill", "ct-x", "KILL"], ["delete", "ct-x"], ["exec", "ct-x", "true"], ["events", "ct-x"], ["ps", "ct-x"],
            ["update", "ct-x"], ["pause", "ct-x"], ["resume", "ct-x"], ["seccomp", "compile", "/nonexistent.json"],
            ["checkpoint", "ct-x"], ["restore", "ct-x"],
        ];
        foreach (var c in cmds) yield return new TestCaseData((object)c).SetName("MissingTarget_" + c[0]);
    }

    // Issue #2: every input gets a clear one-line error, exit 1, and leaves nothing behind; no silent
    // success (checkpoint/restore say CRIU is not supported).
    [TestCaseSource(nameof(PendingCommands))]
    public void MissingTarget_OneLineErrorExitOneNothingCreated(string[] args)
    {
        var root = Path.Combine(Tmp, "root");
        var r = Run.Runcs(["--root", root, .. args]);
        Assert.That(r.Stderr, Does.Contain(args[0] is "checkpoint" or "restore" ? "not implemented" : args[0] is "create" or "run" ? "does not exist" : args[0] == "seccomp" ? "nonexistent" : "does not exist"), r.ToString());
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(r.Stdout, Is.Empty);
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1), r.Stderr);
        Assert.That(Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any(), Is.False, "nothing created under --root");
    }
}
