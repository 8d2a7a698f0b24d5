using System.Text.Json;
using NUnit.Framework;

namespace Runcs.Tests.Foundation;

/// <summary>runc's log line formats: logrus text and JSON (containerd reads the last error msg).</summary>
[TestFixture, NonParallelizable]
public class LogTests : TempDirTest
{
    private static readonly DateTime T = new(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc);

    [TearDown]
    public void ResetLog() => Log.Configure(null, false, false);

    [Test]
    public void Text_HasTimeLevelAndQuotedMsg()
    {
        var line = Log.Format(LogLevel.Error, "container does not exist", T, json: false);
        Assert.That(line, Does.Match("^time=\"2025-03-04T05:06:07\\.0+Z\" level=error msg=\"container does not exist\"\n$"));
    }

    [TestCase(LogLevel.Debug, "debug")]
    [TestCase(LogLevel.Info, "info")]
    [TestCase(LogLevel.Warn, "warning")]
    [TestCase(LogLevel.Error, "error")]
    public void LevelNames_AreLogrus(LogLevel level, string name)
    {
        Assert.That(Log.Format(level, "m", T, false), Does.Contain(" level=" + name + " "));
        using var doc = JsonDocument.Parse(Log.Format(level, "m", T, true));
        Assert.That(doc.RootElement.GetProperty("level").GetString(), Is.EqualTo(name));
    }

    [Test]
    public void Text_EscapesQuotesBackslashesAndNewlines()
    {
        var line = Log.Format(LogLevel.Error, "say \"hi\"\nC:\\x\ttab", T, false);
        Assert.That(line, Does.EndWith("msg=\"say \\\"hi\\\"\\nC:\\\\x\\ttab\"\n"));
        Assert.That(line.TrimEnd('\n'), Does.Not.Contain("\n"), "one line");
    }

    [Test]
    public void Json_IsOneLineObjectWithLevelMsgTime()
    {
        const string msg = "bad \"value\"\nsecond line \\ </script> é";
        var line = Log.Format(LogLevel.Error, msg, T, true);
        Assert.That(line, Does.EndWith("\n"));
        Assert.That(line.TrimEnd('\n'), Does.Not.Contain("\n"));
        Assert.That(line, Does.StartWith("{\"level\":\"error\",\"msg\":"));
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("level").GetString(), Is.EqualTo("error"));
        Assert.That(root.GetProperty("msg").GetString(), Is.EqualTo(msg));
        Assert.That(DateTime.Parse(root.GetProperty("time").GetString()!, null, System.Globalization.DateTimeStyles.AdjustToUniversal), Is.EqualTo(T));
        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "level", "msg", "time" }));
    }

    [Test]
    public void ToFile_AppendsJsonLines_AndDebugIsFilteredUnlessEnabled()
    {
        var file = Path.Combine(Tmp, "log.json");
        Log.Configure(file, json: true, debug: false);
        Log.Debug("hidden");
        Log.Error("first");
        Log.Configure(file, json: true, debug: true);
        Log.Debug("shown");
        Log.Configure(null, false, false); // closes nothing, but stops writing to the file
        var lines = File.ReadAllLines(file);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(JsonDocument.Parse(lines[0]).RootElement.GetProperty("msg").GetString(), Is.EqualTo("first"));
        Assert.That(JsonDocument.Parse(lines[1]).RootElement.GetProperty("level").GetString(), Is.EqualTo("debug"));
    }

    [Test]
    public void Fail_WithLogFile_WritesLogLineAndPlainStderr()
    {
        var file = Path.Combine(Tmp, "log.json");
        Log.Configure(file, json: true, debug: false);
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        try { Assert.That(Cli.CommandLine.Fail("it broke\nbadly"), Is.EqualTo(1)); }
        finally { Console.SetError(old); }
        Assert.That(err.ToString(), Is.EqualTo("runcs: it broke badly\n"));
        var line = File.ReadAllText(file);
        Assert.That(JsonDocument.Parse(line).RootElement.GetProperty("msg").GetString(), Is.EqualTo("it broke badly"));
    }
}
