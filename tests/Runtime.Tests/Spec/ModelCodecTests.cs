using System.Diagnostics;
using System.Text.Json;
using NUnit.Framework;
using Runcs.Init;
using Runcs.Spec;
using Runcs.State;
using Runcs.Tests.Schema;

namespace Runcs.Tests.Spec;

/// <summary>
/// The generated codec (ModelCodec.g.cs) against System.Text.Json's source-generated serializer,
/// which it replaced on the hot paths: same model from the same JSON, same JSON from the same model.
/// </summary>
public class ModelCodecTests
{
    private static IEnumerable<string> Configs()
    {
        foreach (var f in Directory.GetFiles(Path.Combine(SchemaTestData.SharedDir, "real-world-configs"), "*.json")) yield return f;
        foreach (var f in Directory.GetFiles(Path.Combine(SchemaTestData.CorpusDir, "good"), "*.json")) yield return f;
        foreach (var f in Directory.GetFiles(Path.Combine(SchemaTestData.OfficialSchemaDir, "test"), "*.json", SearchOption.AllDirectories))
            if (f.Contains("good", StringComparison.Ordinal) && f.Contains("config", StringComparison.Ordinal)) yield return f;
    }

    private static string Canonical(Config c) => JsonSerializer.Serialize(c, RuncsJson.Default.Config);

    [Test]
    public void ReadConfig_SameModelAsSystemTextJson([ValueSource(nameof(Configs))] string file)
    {
        var bytes = File.ReadAllBytes(file);
        Config expected;
        try { expected = JsonSerializer.Deserialize(bytes, RuncsJson.Default.Config)!; }
        catch (JsonException) { Assert.Ignore("System.Text.Json rejects this document's types too"); return; }
        var got = ModelCodec.FromUtf8(bytes, ModelCodec.ReadConfig);
        Assert.That(Canonical(got), Is.EqualTo(Canonical(expected)), file);
    }

    [Test]
    public void WriteConfig_SameJsonAsSystemTextJson_AndRoundTrips([ValueSource(nameof(Configs))] string file)
    {
        Config c;
        try { c = JsonSerializer.Deserialize(File.ReadAllBytes(file), RuncsJson.Default.Config)!; }
        catch (JsonException) { Assert.Ignore("not a typed config"); return; }
        var ours = ModelCodec.ToUtf8(c, ModelCodec.WriteConfig);
        var theirs = JsonSerializer.SerializeToUtf8Bytes(c, RuncsJson.Default.Config);
        Assert.That(System.Text.Encoding.UTF8.GetString(ours), Is.EqualTo(System.Text.Encoding.UTF8.GetString(theirs)));
        Assert.That(Canonical(ModelCodec.FromUtf8(ours, ModelCodec.ReadConfig)), Is.EqualTo(Canonical(c)));
    }

    [Test]
    public void InstructionsAndState_RoundTrip()
    {
        var config = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(SchemaTestData.SharedDir, "real-world-configs", "docker-run.json")), RuncsJson.Default.Config)!;
        var ins = new InitInstructions
        {
            Id = "c1", Bundle = "/b", Rootfs = "/b/rootfs", Config = config, FifoPath = "/run/x/exec.fifo", NoPivot = true,
            ExtraFds = 2, LogPath = null, LogJson = true, HostPid = 4242, CgroupPaths = new() { ["memory"] = "/sys/fs/cgroup/memory/c1" },
            NewNamespaces = ["pid", "mount"], SeccompProgram = [1, 2, 3, 0, 255], SeccompFlags = 3, Env = ["A=1", "B=é\"\\"],
            ConsoleSocketFd = -1, LogFd = 7, IdmapMounts = [0, 3], Created = "2026-12-02T00:00:00Z",
        };
        var back = ModelCodec.FromUtf8(ModelCodec.ToUtf8(ins, ModelCodec.WriteInitInstructions), ModelCodec.ReadInitInstructions);
        Assert.That(JsonSerializer.Serialize(back, RuncsJson.Default.InitInstructions), Is.EqualTo(JsonSerializer.Serialize(ins, RuncsJson.Default.InitInstructions)));

        var st = new StoredState { Id = "c1", Pid = 9, PidStartTime = ulong.MaxValue, Bundle = "/b", Config = config, Started = true,
            Annotations = new() { ["a/b~c"] = "v" }, NamespacePaths = new() { ["network"] = "/proc/9/ns/net" } };
        var st2 = ModelCodec.FromUtf8(ModelCodec.ToUtf8(st, ModelCodec.WriteStoredState), ModelCodec.ReadStoredState);
        Assert.That(JsonSerializer.Serialize(st2, RuncsJson.Default.StoredState), Is.EqualTo(JsonSerializer.Serialize(st, RuncsJson.Default.StoredState)));
    }

    [TestCase("""{"process":{"user":{"uid":-1}}}""", "/process/user/uid")]
    [TestCase("""{"process":{"user":{"uid":4294967296}}}""", "/process/user/uid")]
    [TestCase("""{"process":{"user":{"uid":1.5}}}""", "/process/user/uid")]
    [TestCase("""{"process":{"user":{"uid":"0"}}}""", "/process/user/uid")]
    [TestCase("""{"process":{"terminal":1}}""", "/process/terminal")]
    [TestCase("""{"mounts":[{"destination":"/a"},{"destination":7}]}""", "/mounts/1/destination")]
    [TestCase("""{"annotations":{"a/b":1}}""", "/annotations/a~1b")]
    [TestCase("""{"linux":{"resources":{"memory":{"limit":9223372036854775808}}}}""", "/linux/resources/memory/limit")]
    [TestCase("""{"linux":{"resources":{"blockIO":{"weight":65536}}}}""", "/linux/resources/blockIO/weight")]
    [TestCase("""{"linux":{"seccomp":{"syscalls":[{"names":["a"],"args":[{"value":-1}]}]}}}""", "/linux/seccomp/syscalls/0/args/0/value")]
    [TestCase("""[]""", "")]
    public void ReadConfig_WrongTypes_NamePointer(string json, string pointer)
    {
        var e = Assert.Throws<ConfigException>(() => ModelCodec.FromUtf8(System.Text.Encoding.UTF8.GetBytes(json), ModelCodec.ReadConfig))!;
        Assert.That(e.Pointer, Is.EqualTo(pointer));
        Assert.That(e.Message, Does.Contain(ModelCodec.WrongRule));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, RuncsJson.Default.Config), "System.Text.Json refuses it too");
    }

    // Stricter than System.Text.Json on purpose: it stores null in a non-nullable member (user,
    // destination, ...) and the runtime would trip over it later; here it is a clear error up front.
    [TestCase("""{"process":{"user":null}}""", "/process/user")]
    [TestCase("""{"mounts":[{"destination":null}]}""", "/mounts/0/destination")]
    [TestCase("""{"linux":{"seccomp":{"syscalls":[{"names":null}]}}}""", "/linux/seccomp/syscalls/0/names")]
    public void ReadConfig_NullWhereTheModelHasNoNull_IsRefused(string json, string pointer)
    {
        var e = Assert.Throws<ConfigException>(() => ModelCodec.FromUtf8(System.Text.Encoding.UTF8.GetBytes(json), ModelCodec.ReadConfig))!;
        Assert.That(e.Pointer, Is.EqualTo(pointer));
    }

    [Test]
    public void ReadConfig_UnknownMembersKept_NullsAllowedWhereNullable_LastDuplicateWins()
    {
        var json = """{"ociVersion":"1.0.0","x-vendor":{"k":[1,2]},"hostname":null,"hostname":"h2","process":{"cwd":"/","user":{"uid":1,"gid":2},"oomScoreAdj":null}}""";
        var c = ModelCodec.FromUtf8(System.Text.Encoding.UTF8.GetBytes(json), ModelCodec.ReadConfig);
        Assert.That(c.Hostname, Is.EqualTo("h2"));
        Assert.That(c.Process!.OomScoreAdj, Is.Null);
        Assert.That(c.Extra!["x-vendor"].GetRawText(), Is.EqualTo("""{"k":[1,2]}"""));
        Assert.That(Canonical(c), Is.EqualTo(Canonical(JsonSerializer.Deserialize(json, RuncsJson.Default.Config)!)));
    }

    [Test]
    public void GeneratedFile_IsUpToDateWithTheModel()
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(SchemaTestData.RepoRoot, "tools", "codegen", "gen-model-codec.py"));
        psi.ArgumentList.Add("--check");
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), err);
    }
}
