using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Schema;

/// <summary>The SchemaValidator API: pointers and messages, overloads, state and features, and the few
/// places where runcs's schema is deliberately stricter than the official one.</summary>
[TestFixture]
public class SchemaValidatorTests
{
    private static JsonNode Corpus(string relative) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(SchemaTestData.CorpusDir, relative)))!;

    [TestCase("bad/namespace-bad-type.json", "/linux/namespaces/1/type",
        "value \"net\" is not one of mount, pid, network, uts, ipc, user, cgroup, time")]
    [TestCase("bad/process-missing-cwd.json", "/process", "required property \"cwd\" is missing")]
    [TestCase("bad/hugepage-pagesize-pattern.json", "/linux/resources/hugepageLimits/0/pageSize",
        "value \"2M\" does not match the pattern ^[1-9][0-9]*[KMG]B$")]
    [TestCase("bad/user-uid-over-uint32.json", "/process/user/uid", "value 4294967296 is greater than the maximum 4294967295")]
    [TestCase("bad/user-gid-negative.json", "/process/user/gid", "value -1 is less than the minimum 0")]
    [TestCase("bad/rlimit-type-pattern.json", "/process/rlimits/0/type", "value \"rlimit_nofile\" does not match the pattern ^RLIMIT_[A-Z]+$")]
    [TestCase("bad/sysctl-value-number.json", "/linux/sysctl/net.ipv4.ip_forward", "expected string, got number 1")]
    [TestCase("bad/seccomp-empty-names.json", "/linux/seccomp/syscalls/0/names", "array needs at least 1 item(s), has 0")]
    [TestCase("bad/missing-ociVersion.json", "", "required property \"ociVersion\" is missing")]
    [TestCase("bad/linux-array.json", "/linux", "expected object, got array")]
    public void BadConfigGivesPointerAndRule(string file, string pointer, string message)
    {
        var errors = SchemaValidator.ValidateConfig(Corpus(file));
        Assert.That(errors, Has.Count.EqualTo(1), string.Join("\n", errors));
        Assert.That(errors[0], Is.EqualTo(new SchemaError(pointer, message)));
    }

    [Test]
    public void GoodConfigHasNoErrors() =>
        Assert.That(SchemaValidator.ValidateConfig(Corpus("good/process-full.json")), Is.Empty);

    [Test]
    public void ElementAndNodeOverloadsAgree()
    {
        var text = File.ReadAllText(Path.Combine(SchemaTestData.CorpusDir, "bad/seccomp-bad-operator.json"));
        using var doc = JsonDocument.Parse(text);
        Assert.That(SchemaValidator.ValidateConfig(doc.RootElement), Is.EqualTo(SchemaValidator.ValidateConfig(JsonNode.Parse(text))));
    }

    [Test]
    public void NullDocumentIsAnErrorAtTheRoot() =>
        Assert.That(SchemaValidator.ValidateConfig((JsonNode?)null), Is.EqualTo(new[] { new SchemaError("", "expected object, got null") }));

    [Test]
    public void IndependentErrorsAreAllReportedDeepestFirst()
    {
        var doc = Corpus("good/base.json");
        doc["hostname"] = 5;
        doc["linux"]!["namespaces"]![0]!["type"] = "pidns";
        doc["process"]!.AsObject().Remove("cwd");
        var errors = SchemaValidator.ValidateConfig(doc);
        Assert.That(errors.Select(e => e.Pointer), Is.EqualTo(new[] { "/linux/namespaces/0/type", "/hostname", "/process" }));
    }

    [Test]
    public void WrongTypeHidesTheOtherRulesAtThatPlace()
    {
        var doc = Corpus("good/base.json");
        doc["linux"]!["resources"] = new JsonObject { ["hugepageLimits"] = new JsonArray(new JsonObject { ["pageSize"] = 2, ["limit"] = 1 }) };
        var errors = SchemaValidator.ValidateConfig(doc);
        Assert.That(errors, Is.EqualTo(new[] { new SchemaError("/linux/resources/hugepageLimits/0/pageSize", "expected string, got number 2") }));
    }

    [Test]
    public void PointerTokensAreEscaped()
    {
        var doc = Corpus("good/base.json");
        doc["annotations"] = new JsonObject { ["a/b~c"] = 1 };
        Assert.That(SchemaValidator.ValidateConfig(doc).Single().Pointer, Is.EqualTo("/annotations/a~1b~0c"));
    }

    [Test]
    public void StateDocuments()
    {
        var running = JsonNode.Parse("""{"ociVersion":"1.3.0","id":"c1","status":"running","pid":42,"bundle":"/b"}""");
        Assert.That(SchemaValidator.ValidateState(running), Is.Empty);
        var stopped = JsonNode.Parse("""{"ociVersion":"1.3.0","id":"c1","status":"stopped","bundle":"/b","rootfs":"/b/rootfs","created":"2024-01-01T00:00:00Z","owner":""}""");
        Assert.That(SchemaValidator.ValidateState(stopped), Is.Empty, "stopped needs no pid; runc's extra fields are allowed");
        var paused = JsonNode.Parse("""{"ociVersion":"1.3.0","id":"c1","status":"paused","pid":42,"bundle":"/b"}""");
        Assert.That(SchemaValidator.ValidateState(paused).Single().Pointer, Is.EqualTo("/status"),
            "the spec has no paused status (runc prints one); the schema follows the spec");
        var badId = JsonNode.Parse("""{"ociVersion":"1.3.0","id":7,"status":"stopped","bundle":"/b"}""");
        Assert.That(SchemaValidator.ValidateState(badId), Is.EqualTo(new[] { new SchemaError("/id", "expected string, got number 7") }),
            "the failing 'if' (status is not created/running) is not reported");
        var missing = JsonNode.Parse("""{"ociVersion":"1.3.0","id":"c1","pid":1}""");
        Assert.That(SchemaValidator.ValidateState(missing).Select(e => e.Message),
            Is.EquivalentTo(new[] { "required property \"status\" is missing", "required property \"bundle\" is missing" }));
    }

    [Test]
    public void FeaturesDocuments()
    {
        var good = JsonNode.Parse("""{"ociVersionMin":"1.0.0","ociVersionMax":"1.3.0","linux":{"namespaces":["pid","time"],"capabilities":["CAP_CHOWN"],"seccomp":{"enabled":true,"actions":["SCMP_ACT_LOG"]},"mountExtensions":{"idmap":{"enabled":true}}}}""");
        Assert.That(SchemaValidator.ValidateFeatures(good), Is.Empty);
        var bad = JsonNode.Parse("""{"ociVersionMin":"1.0.0","linux":{"capabilities":["cap_chown"],"namespaces":["net"]}}""");
        Assert.That(SchemaValidator.ValidateFeatures(bad), Is.EquivalentTo(new[]
        {
            new SchemaError("/linux/capabilities/0", "value \"cap_chown\" does not match the pattern ^CAP_[A-Z_]+$"),
            new SchemaError("/linux/namespaces/0", "value \"net\" is not one of mount, pid, network, uts, ipc, user, cgroup, time"),
            new SchemaError("", "required property \"ociVersionMax\" is missing"),
        }));
    }

    /// <summary>Where runcs's schema is stricter than the official one, on purpose and following the spec
    /// text. No official good fixture or corpus config relies on the looser rule.</summary>
    [TestCase("config", """{"ociVersion":"1.3.0","annotations":{"":"empty key"}}""", "/annotations/",
        Description = "config.md: annotation keys MUST NOT be empty (official: patternProperties .{1,} skips the empty key)")]
    [TestCase("state", """{"ociVersion":"1.3.0","id":"c","status":"created","bundle":"/b"}""", "",
        Description = "runtime.md: pid is REQUIRED on Linux when status is created or running")]
    public void StricterThanOfficial(string kind, string json, string pointer)
    {
        Assert.That(SchemaTestData.OfficialAccepts(SchemaTestData.SchemaFileFor(kind), json), Is.True, "official accepts");
        var errors = SchemaTestData.OursErrors(SchemaTestData.SchemaFileFor(kind), json)!;
        Assert.That(errors.Select(e => e.Pointer), Is.EqualTo(new[] { pointer }), string.Join("\n", errors));
    }

    /// <summary>Guards the harness: a mis-built official schema (e.g. a bare-path base URI) accepts everything.</summary>
    [Test]
    public void OfficialSchemaIsReallyEnforced()
    {
        Assert.That(SchemaTestData.OfficialAccepts("config-schema.json", """{"ociVersion":5}"""), Is.False);
        Assert.That(SchemaTestData.OfficialAccepts("config-schema.json", """{"ociVersion":"1","linux":{"namespaces":[{"type":"x"}]}}"""), Is.False);
        Assert.That(SchemaTestData.OfficialAccepts("state-schema.json", """{"ociVersion":"1"}"""), Is.False);
        Assert.That(SchemaTestData.OfficialAccepts("features-schema.json", """{"ociVersionMin":"1","ociVersionMax":"1","linux":{"namespaces":["x"]}}"""), Is.False);
    }

    [Test]
    public void EmbeddedSchemasAreAllPresentAndSelfIdentified()
    {
        Assert.That(SchemaValidator.SchemaNames, Is.SupersetOf(new[]
        {
            "config-schema.json", "config-linux.json", "config-platforms.json", "defs.json", "defs-linux.json",
            "state-schema.json", "features-schema.json",
        }));
        foreach (var file in Directory.GetFiles(Path.Combine(SchemaTestData.RepoRoot, "specs"), "*.json"))
        {
            var doc = JsonNode.Parse(File.ReadAllText(file))!;
            Assert.That(doc["$schema"]?.GetValue<string>(), Is.EqualTo("https://json-schema.org/draft/2020-12/schema"), file);
            Assert.That(doc["$id"]?.GetValue<string>(), Is.EqualTo(SchemaValidator.BaseUri + Path.GetFileName(file)), file);
        }
    }

    /// <summary>Prints the cost of validation under JIT (first call includes building the schemas, unless
    /// another test ran first). Loose bound only; the AOT numbers are in the report of the change.</summary>
    [Test]
    public void ValidationCost()
    {
        var text = File.ReadAllText(Path.Combine(SchemaTestData.CorpusDir, "good", "real-world-docker-run.json"));
        var sw = Stopwatch.StartNew();
        using (var doc = JsonDocument.Parse(text)) Assert.That(SchemaValidator.ValidateConfig(doc.RootElement), Is.Empty);
        var first = sw.Elapsed;
        const int N = 200;
        sw.Restart();
        for (var i = 0; i < N; i++)
        {
            using var doc = JsonDocument.Parse(text);
            SchemaValidator.ValidateConfig(doc.RootElement);
        }
        var warm = sw.Elapsed / N;
        TestContext.Out.WriteLine($"first ValidateConfig: {first.TotalMilliseconds:F1} ms; warm: {warm.TotalMilliseconds:F3} ms per config");
        Assert.That(warm, Is.LessThan(TimeSpan.FromMilliseconds(100)));
    }
}
