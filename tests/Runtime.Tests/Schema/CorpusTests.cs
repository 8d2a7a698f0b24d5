using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Schema;

/// <summary>The config corpus (tests/Runtime.Tests/corpus): good/ is accepted, bad/ rejected, and
/// semantic-bad/ accepted by both the official schema and runcs's; see corpus/README.md.</summary>
[TestFixture]
public class CorpusTests
{
    private const string Config = "config-schema.json";

    private static IEnumerable<TestCaseData> Good() => SchemaTestData.Corpus("good");
    private static IEnumerable<TestCaseData> Bad() => SchemaTestData.Corpus("bad");
    private static IEnumerable<TestCaseData> SemanticBad() => SchemaTestData.Corpus("semantic-bad");

    [TestCaseSource(nameof(Good))]
    public void GoodIsAcceptedByBoth(string file) => AssertVerdicts(file, expectValid: true);

    [TestCaseSource(nameof(Bad))]
    public void BadIsRejectedByBoth(string file) => AssertVerdicts(file, expectValid: false);

    // Schema-valid on purpose: these are for the runtime's semantic validator.
    [TestCaseSource(nameof(SemanticBad))]
    public void SemanticBadIsSchemaValidForBoth(string file)
    {
        AssertVerdicts(file, expectValid: true);
        var doc = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(doc["//"]?.GetValue<string>(), Is.Not.Null.And.Not.Empty, "semantic-bad files say why in \"//\"");
            Assert.That(doc["//pointer"]?.GetValue<string>(), Is.Not.Null, "semantic-bad files name the expected pointer in \"//pointer\"");
        });
    }

    /// <summary>For every bad corpus file that names one, the first error ValidateConfig reports is at
    /// exactly that pointer.</summary>
    [TestCaseSource(nameof(Bad))]
    public void BadReportsTheExpectedPointerFirst(string file)
    {
        var text = File.ReadAllText(file);
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException) { Assert.Pass("not JSON; nothing to point at"); return; }
        if (node is not JsonObject obj || obj["//pointer"] is not { } expected)
        {
            Assert.That(node is JsonObject, Is.False, $"{file} should name its expected pointer in \"//pointer\"");
            var rootErrors = SchemaValidator.ValidateConfig(node);
            Assert.That(rootErrors.Select(e => e.Pointer), Has.Member(""));
            return;
        }
        var errors = SchemaValidator.ValidateConfig(node);
        Assert.That(errors, Is.Not.Empty);
        Assert.That(errors[0].Pointer, Is.EqualTo(expected.GetValue<string>()), string.Join("\n", errors));
        Assert.That(errors[0].Message, Is.Not.Empty);
    }

    [Test]
    public void CorpusIsLargeEnough()
    {
        var good = Directory.GetFiles(Path.Combine(SchemaTestData.CorpusDir, "good"), "*.json").Length;
        var bad = Directory.GetFiles(Path.Combine(SchemaTestData.CorpusDir, "bad"), "*.json").Length;
        var semantic = Directory.GetFiles(Path.Combine(SchemaTestData.CorpusDir, "semantic-bad"), "*.json").Length;
        Assert.That(good + bad, Is.GreaterThanOrEqualTo(40));
        Assert.That(semantic, Is.GreaterThanOrEqualTo(15));
        foreach (var name in Directory.GetFiles(Path.Combine(SchemaTestData.SharedDir, "real-world-configs"), "*.json"))
            Assert.That(File.Exists(Path.Combine(SchemaTestData.CorpusDir, "good", "real-world-" + Path.GetFileName(name))), name);
    }

    private static void AssertVerdicts(string file, bool expectValid)
    {
        var text = File.ReadAllText(file);
        var official = SchemaTestData.OfficialAccepts(Config, text);
        var ours = SchemaTestData.OursErrors(Config, text);
        Assert.Multiple(() =>
        {
            Assert.That(official, Is.EqualTo(expectValid), "official schema verdict");
            Assert.That(ours is { Count: 0 }, Is.EqualTo(expectValid),
                $"runcs schema verdict; errors: {(ours == null ? "unparsable" : string.Join("; ", ours))}");
        });
    }
}
