using System.Text.Json;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Foundation;

/// <summary>`runcs features` content (runtime-spec features.md), checked against the official schema.</summary>
[TestFixture]
public class FeaturesTests
{
    private static string Json() => JsonSerializer.Serialize(FeaturesInfo.Build(), RuncsJson.Indented.Features);

    [Test]
    public void Build_IsValidAgainstOfficialFeaturesSchema()
    {
        var (valid, errors) = OfficialSchema.Evaluate("features-schema.json", Json());
        Assert.That(valid, Is.True, errors + "\n" + Json());
    }

    [Test]
    public void OfficialSchemaEvaluation_RejectsABadFeaturesDocument()
    {
        // Guards the helper itself: a wrong type must fail, or the test above proves nothing.
        var (valid, _) = OfficialSchema.Evaluate("features-schema.json", """{"ociVersionMin":"1.0.0","ociVersionMax":"1.3.0","hooks":"prestart"}""");
        Assert.That(valid, Is.False);
    }

    [Test]
    public void Build_NamesVersionsAndIsTruthfulAboutUnimplementedParts()
    {
        var f = FeaturesInfo.Build();
        Assert.That(f.OciVersionMin, Is.EqualTo("1.0.0"));
        Assert.That(f.OciVersionMax, Is.EqualTo(SpecInfo.Version));
        Assert.That(f.Linux!.Capabilities, Does.Contain("CAP_SYS_ADMIN"));
        Assert.That(f.Linux.Seccomp!.Enabled, Is.EqualTo(FeaturesInfo.SeccompEnforced));
        Assert.That(f.Annotations!["io.github.runcs.version"], Is.EqualTo(Cli.CommandLine.Version));
    }
}
