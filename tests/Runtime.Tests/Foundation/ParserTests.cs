using NUnit.Framework;
using Runcs.Cli;

namespace Runcs.Tests.Foundation;

/// <summary>runc (urfave/cli) flag syntax as <see cref="Parser"/> implements it.</summary>
[TestFixture]
public class ParserTests
{
    private static readonly FlagSpec[] Specs =
    [
        new("bundle", true, "", ["b"]),
        new("detach", false, "", ["d"]),
        new("env", true, "", ["e"], Repeatable: true),
        new("force", false, ""),
    ];

    private static (Dictionary<string, List<string>> Flags, List<string> Args, int Next) Parse(bool stop, params string[] argv)
    {
        var flags = new Dictionary<string, List<string>>();
        var args = new List<string>();
        int next = Parser.ParseFlags(argv, 0, Specs, flags, stop, args, "test");
        return (flags, args, next);
    }

    [TestCase("--bundle", "/b")]
    [TestCase("-bundle", "/b")]
    [TestCase("-b", "/b")]
    [TestCase("--b", "/b")]
    public void ValueFlag_SeparateValue(string flag, string value)
    {
        var (f, a, _) = Parse(true, flag, value, "id");
        Assert.That(f["bundle"], Is.EqualTo(new[] { value }));
        Assert.That(a, Is.EqualTo(new[] { "id" }));
    }

    [TestCase("--bundle=/b")]
    [TestCase("-bundle=/b")]
    [TestCase("-b=/b")]
    public void ValueFlag_EqualsValue(string arg)
    {
        var (f, a, _) = Parse(true, arg, "id");
        Assert.That(f["bundle"], Is.EqualTo(new[] { "/b" }));
        Assert.That(a, Is.EqualTo(new[] { "id" }));
    }

    [Test]
    public void ValueFlag_ValueMayContainEquals()
    {
        var (f, _, _) = Parse(true, "--env=A=b=c", "id");
        Assert.That(f["env"], Is.EqualTo(new[] { "A=b=c" }));
    }

    [Test]
    public void ValueFlag_ValueMayStartWithDash()
    {
        var (f, _, _) = Parse(true, "--bundle", "-weird", "id");
        Assert.That(f["bundle"], Is.EqualTo(new[] { "-weird" }));
    }

    [Test]
    public void RepeatedFlag_KeepsEveryValueInOrder()
    {
        var (f, _, _) = Parse(true, "-e", "A=1", "--env", "B=2", "--env=C=3", "id");
        Assert.That(f["env"], Is.EqualTo(new[] { "A=1", "B=2", "C=3" }));
    }

    [Test]
    public void BoolFlag_PresentMeansTrue_AndTakesNoValue()
    {
        var (f, a, _) = Parse(true, "--detach", "id");
        Assert.That(f["detach"], Is.EqualTo(new[] { "" }));
        Assert.That(a, Is.EqualTo(new[] { "id" }), "the word after a bool flag is positional");
        Assert.That(Inv(f).Bool("detach"), Is.True);
    }

    [TestCase("--detach=false", false)]
    [TestCase("--detach=0", false)]
    [TestCase("-d=false", false)]
    [TestCase("--detach=true", true)]
    [TestCase("-d=1", true)]
    public void BoolFlag_ExplicitValue(string arg, bool expected)
    {
        var (f, _, _) = Parse(true, arg, "id");
        Assert.That(Inv(f).Bool("detach"), Is.EqualTo(expected));
    }

    [Test]
    public void BoolFlag_InvalidValueIsAUsageError()
    {
        var (f, _, _) = Parse(true, "--detach=maybe", "id");
        Assert.Throws<UsageException>(() => Inv(f).Bool("detach"));
    }

    [Test]
    public void AbsentBoolFlag_IsFalse()
    {
        var (f, _, _) = Parse(true, "id");
        Assert.That(Inv(f).Bool("detach"), Is.False);
    }

    [Test]
    public void StopsAtFirstPositional_RestIsPositionalEvenIfItLooksLikeFlags()
    {
        // exec ID ls -la --force: -la and --force belong to the container's command.
        var (f, a, _) = Parse(true, "--detach", "id", "ls", "-la", "--force");
        Assert.That(f.ContainsKey("force"), Is.False);
        Assert.That(a, Is.EqualTo(new[] { "id", "ls", "-la", "--force" }));
    }

    [Test]
    public void DoubleDash_EndsFlags()
    {
        var (f, a, _) = Parse(true, "--detach", "--", "--force", "x");
        Assert.That(f.ContainsKey("force"), Is.False);
        Assert.That(a, Is.EqualTo(new[] { "--force", "x" }));
    }

    [Test]
    public void SingleDash_IsPositional()
    {
        var (_, a, _) = Parse(true, "-", "x");
        Assert.That(a, Is.EqualTo(new[] { "-", "x" }));
    }

    [Test]
    public void GlobalParse_ReturnsIndexOfCommand()
    {
        var flags = new Dictionary<string, List<string>>();
        int next = Parser.ParseFlags(["--bundle", "x", "state", "--force"], 0, Specs, flags, stopAtPositional: true, positionals: null, context: "");
        Assert.That(next, Is.EqualTo(2));
    }

    [Test]
    public void UnknownFlag_IsAUsageErrorNamingIt()
    {
        var e = Assert.Throws<UsageException>(() => Parse(true, "--nope", "id"));
        Assert.That(e!.Message, Does.Contain("flag provided but not defined: -nope"));
    }

    [Test]
    public void UnknownFlagWithValue_IsAUsageError()
    {
        var e = Assert.Throws<UsageException>(() => Parse(true, "--nope=1", "id"));
        Assert.That(e!.Message, Does.Contain("-nope"));
    }

    [Test]
    public void ValueFlagWithoutValue_IsAUsageError()
    {
        var e = Assert.Throws<UsageException>(() => Parse(true, "--bundle"));
        Assert.That(e!.Message, Does.Contain("flag needs an argument: -bundle"));
    }

    private static Invocation Inv(Dictionary<string, List<string>> f)
    {
        var inv = new Invocation { Global = new GlobalOptions(), Command = CommandLine.Commands[0] };
        foreach (var (k, v) in f) inv.Flags[k] = v;
        return inv;
    }
}
