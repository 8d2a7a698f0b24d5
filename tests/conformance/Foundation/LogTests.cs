using System.Text.Json;
using NUnit.Framework;

namespace Runcs.Conformance.Foundation;

/// <summary>
/// runc's --log / --log-format: containerd passes `--log F --log-format json` and shows the last
/// error msg of F to its user; the plain message goes to stderr too.
/// </summary>
[TestFixture]
public class LogTests : TempDirTest
{
    [Test]
    public void JsonLog_OneErrorLineInFile_PlainMessageOnStderr()
    {
        var log = Path.Combine(Tmp, "log.json");
        var r = Run.Runcs("--root", Path.Combine(Tmp, "root"), "--log", log, "--log-format", "json", "state", "nosuch");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stdout, Is.Empty);
        var lines = File.ReadAllLines(log);
        Assert.That(lines, Has.Length.EqualTo(1), string.Join("\n", lines));
        using var doc = JsonDocument.Parse(lines[0]);
        var e = doc.RootElement;
        Assert.That(e.GetProperty("level").GetString(), Is.EqualTo("error"));
        var msg = e.GetProperty("msg").GetString()!;
        Assert.That(msg, Does.Contain("container does not exist"));
        Assert.That(DateTime.TryParse(e.GetProperty("time").GetString(), out _), Is.True);
        Assert.That(Lines(r.Stderr), Is.EqualTo(new[] { "runcs: " + msg }), "stderr carries the same message, not JSON");
    }

    [Test]
    public void JsonLog_AppendsAcrossRuns()
    {
        var log = Path.Combine(Tmp, "log.json");
        File.WriteAllText(log, "{\"level\":\"info\",\"msg\":\"earlier\",\"time\":\"2025-01-01T00:00:00Z\"}\n");
        Run.Runcs("--root", Tmp, "--log=" + log, "--log-format=json", "state", "a");
        Run.Runcs("--root", Tmp, "--log=" + log, "--log-format=json", "kill", "b");
        var lines = File.ReadAllLines(log);
        Assert.That(lines, Has.Length.EqualTo(3));
        foreach (var l in lines) Assert.DoesNotThrow(() => JsonDocument.Parse(l).Dispose(), l);
    }

    [Test]
    public void TextLog_LogrusFormatInFile()
    {
        var log = Path.Combine(Tmp, "log.txt");
        var r = Run.Runcs("--root", Tmp, "--log", log, "state", "nosuch");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        var line = File.ReadAllText(log);
        Assert.That(line, Does.Match("^time=\"[0-9T:.Z-]+\" level=error msg=\"container does not exist: nosuch\"\n$"));
    }

    [Test]
    public void NoLogFlag_ErrorLineOnStderr()
    {
        var r = Run.Runcs("--root", Tmp, "state", "nosuch");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("level=error").And.Contain("container does not exist"));
    }

    [Test]
    public void JsonLogFormat_ToStderr_IsJson()
    {
        var r = Run.Runcs("--root", Tmp, "--log-format", "json", "state", "nosuch");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        using var doc = JsonDocument.Parse(r.Stderr);
        Assert.That(doc.RootElement.GetProperty("level").GetString(), Is.EqualTo("error"));
    }
}
