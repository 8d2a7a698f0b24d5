using NUnit.Framework;
using Runcs.Cli;

namespace Runcs.Tests.Foundation;

/// <summary>
/// <see cref="CommandLine.Run"/> end to end in-process: help, arity, unknown commands, exit codes.
/// Console output is captured; --root always points into a per-test temp dir.
/// </summary>
[TestFixture, NonParallelizable]
public class CommandLineTests : TempDirTest
{
    private TextWriter? _out, _err;

    private (int Code, string Out, string Err) Run(params string[] argv)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        _out = Console.Out; _err = Console.Error;
        Console.SetOut(o); Console.SetError(e);
        try { return (CommandLine.Run(argv), o.ToString(), e.ToString()); }
        finally { Console.SetOut(_out); Console.SetError(_err); Log.Configure(null, false, false); }
    }

    public static IEnumerable<string> VisibleCommands => CommandLine.Commands.Where(c => !c.Hidden).Select(c => c.Name);

    [TestCaseSource(nameof(VisibleCommands))]
    public void Help_ExitsZeroAndNamesTheCommand(string name)
    {
        foreach (var argv in new[] { new[] { name, "--help" }, new[] { name, "-h" }, new[] { "help", name } })
        {
            var (code, o, _) = Run(argv);
            Assert.That(code, Is.EqualTo(0), string.Join(' ', argv));
            Assert.That(o, Does.Contain("runcs " + name + " - "), string.Join(' ', argv));
            Assert.That(o, Does.Contain("USAGE:"));
        }
    }

    [Test]
    public void MainHelp_ListsEveryVisibleCommand()
    {
        var (code, o, _) = Run("--help");
        Assert.That(code, Is.EqualTo(0));
        foreach (var n in VisibleCommands) Assert.That(o, Does.Contain("   " + n + " "), n);
        Assert.That(o, Does.Not.Contain("   init "), "init is hidden");
        Assert.That(o, Does.Contain("--root"));
    }

    [Test]
    public void NoCommand_PrintsHelpAndFails()
    {
        var (code, o, _) = Run();
        Assert.That(code, Is.EqualTo(1));
        Assert.That(o, Does.Contain("USAGE:"));
    }

    [Test]
    public void Version_PrintsVersionCommitAndSpec()
    {
        var (code, o, _) = Run("--version");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(o, Does.StartWith("runcs version " + CommandLine.Version + "\ncommit: "));
        Assert.That(o, Does.Contain("\nspec: 1.3.0\n"));
    }

    [TestCase("state")]
    [TestCase("state", "a", "b")]
    [TestCase("delete")]
    [TestCase("kill", "a", "KILL", "extra")]
    [TestCase("list", "extra")]
    [TestCase("spec", "extra")]
    public void WrongArity_ExitsOneWithOneLineNamingTheCommand(params string[] args)
    {
        var (code, o, e) = Run(["--root", Tmp, .. args]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(o, Is.Empty);
        var lines = e.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1), e);
        Assert.That(lines[0], Does.Contain("level=error").And.Contain($"\\\"{args[0]}\\\" requires"));
    }

    [Test]
    public void UnknownCommand_ExitsOne()
    {
        var (code, _, e) = Run("--root", Tmp, "frobnicate");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("no such command: frobnicate"));
    }

    [Test]
    public void UnknownGlobalFlag_ExitsOne()
    {
        var (code, _, e) = Run("--frob", "list");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("flag provided but not defined: -frob"));
    }

    [Test]
    public void UnknownCommandFlag_ExitsOne()
    {
        var (code, _, e) = Run("--root", Tmp, "state", "--frob", "x");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("flag provided but not defined: -frob (state)"));
    }

    [Test]
    public void InvalidLogFormat_ExitsOne()
    {
        var (code, _, e) = Run("--log-format", "xml", "list");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("invalid log-format: xml"));
    }

    [Test]
    public void GlobalFlagsAcceptEqualsAndSingleDash()
    {
        var (code, o, _) = Run("-root=" + Tmp, "list", "--format=json");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(o, Is.EqualTo("null\n"));
    }

    [Test]
    public void ListFormat_Invalid_ExitsOne()
    {
        var (code, _, e) = Run("--root", Tmp, "list", "--format", "yaml");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("invalid format option: yaml"));
    }

    [Test]
    public void State_UnknownId_ExitsOne()
    {
        var (code, o, e) = Run("--root", Tmp, "state", "nope");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(o, Is.Empty);
        Assert.That(e, Does.Contain("container does not exist: nope"));
    }

    [Test]
    public void State_InvalidId_ExitsOne()
    {
        var (code, _, e) = Run("--root", Tmp, "state", "../etc");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("invalid container id"));
    }

    [Test]
    public void Spec_WritesConfigOnce_ThenRefuses()
    {
        var (code, _, _) = Run("spec", "--bundle", Tmp);
        Assert.That(code, Is.EqualTo(0));
        var file = Path.Combine(Tmp, "config.json");
        var first = File.ReadAllText(file);
        Assert.That(first, Does.Contain("\"ociVersion\": \"1.3.0\""));
        var (code2, _, e2) = Run("spec", "-b", Tmp);
        Assert.That(code2, Is.EqualTo(1));
        Assert.That(e2, Does.Contain("exists"));
        Assert.That(File.ReadAllText(file), Is.EqualTo(first));
    }

    [Test]
    public void Spec_MissingBundleDir_ExitsOne()
    {
        var (code, _, e) = Run("spec", "--bundle", Path.Combine(Tmp, "none"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(e, Does.Contain("does not exist"));
    }
}
