using NUnit.Framework;

namespace Runcs.Conformance;

/// <summary>The built binary's command line: version, help, unknown commands.</summary>
[TestFixture]
public class CliTests
{
    [Test]
    public void Version_NamesRuncsAndSpecVersion()
    {
        var r = Run.Runcs("--version");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout, Does.StartWith("runcs version "));
        Assert.That(r.Stdout, Does.Contain("spec: 1.3.0"));
    }
}
