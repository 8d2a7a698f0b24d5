using NUnit.Framework;

namespace Runcs.Tests.Schema;

/// <summary>Every fixture shipped with the official runtime-spec schema gets the directory's verdict from
/// both the official schema and runcs's own.</summary>
[TestFixture]
public class OfficialFixtureTests
{
    [TestCaseSource(typeof(SchemaTestData), nameof(SchemaTestData.OfficialFixtures))]
    public void BothSchemasAgreeWithTheFixtureDirectory(string kind, bool expectValid, string file)
    {
        var text = File.ReadAllText(file);
        var schema = SchemaTestData.SchemaFileFor(kind);
        var official = SchemaTestData.OfficialAccepts(schema, text);
        var ours = SchemaTestData.OursErrors(schema, text);
        Assert.Multiple(() =>
        {
            Assert.That(official, Is.EqualTo(expectValid), $"official {schema} verdict on {file}");
            Assert.That(ours is { Count: 0 }, Is.EqualTo(expectValid),
                $"runcs {schema} verdict on {file}; errors: {(ours == null ? "unparsable" : string.Join("; ", ours))}");
        });
    }
}
