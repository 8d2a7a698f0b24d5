using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Foundation;

/// <summary>
/// The semantically bad config corpora, loaded in-process: every file must be rejected by
/// <see cref="ConfigLoader.LoadBundle"/> with a <see cref="ConfigException"/> naming the pointer in
/// its NAME.pointer sidecar (when there is one). Corpora: tests/conformance/Foundation/bad-configs
/// (ours) and tests/Runtime.Tests/corpus/semantic-bad (the schema work's, when present).
/// </summary>
[TestFixture]
public class BadConfigTests : TempDirTest
{
    public static readonly string[] CorpusDirs =
    [
        Path.Combine("tests", "conformance", "Foundation", "bad-configs"),
        Path.Combine("tests", "Runtime.Tests", "corpus", "semantic-bad"),
    ];

    public static IEnumerable<TestCaseData> Configs()
    {
        foreach (var rel in CorpusDirs)
        {
            var dir = Path.Combine(TestDirs.Repo, rel);
            var tag = rel.Replace(Path.DirectorySeparatorChar, '/');
            if (!Directory.Exists(dir))
            {
                yield return new TestCaseData(null).SetName($"BadConfig_{tag}_(absent)");
                continue;
            }
            foreach (var f in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
                yield return new TestCaseData(f).SetName($"BadConfig_{tag}_{Path.GetFileNameWithoutExtension(f)}");
        }
    }

    /// <summary>The expected pointer from NAME.pointer, or null when there is no sidecar.</summary>
    public static string? ExpectedPointer(string configFile)
    {
        var p = Path.ChangeExtension(configFile, ".pointer");
        return File.Exists(p) ? File.ReadAllText(p).Trim() : null;
    }

    /// <summary>
    /// A bundle for the config: its rootfs directory exists (an absolute root.path is rewritten to
    /// "rootfs"), except when the expected error is about root.path itself.
    /// </summary>
    public static string MakeBundle(string configFile, string dir)
    {
        var expected = ExpectedPointer(configFile);
        Directory.CreateDirectory(dir);
        var text = File.ReadAllText(configFile);
        if (expected != "/root/path" && JsonNode.Parse(text) is JsonObject o && o["root"]?["path"]?.GetValue<string>() is { } rp)
        {
            if (Path.IsPathRooted(rp))
            {
                o["root"]!["path"] = rp = "rootfs";
                text = o.ToJsonString();
            }
            Directory.CreateDirectory(Path.Combine(dir, rp));
        }
        File.WriteAllText(Path.Combine(dir, "config.json"), text);
        return dir;
    }

    [Test]
    public void OurCorpus_HasAtLeast15ConfigsEachWithAPointer()
    {
        var dir = Path.Combine(TestDirs.Repo, CorpusDirs[0]);
        var files = Directory.GetFiles(dir, "*.json");
        Assert.That(files, Has.Length.GreaterThanOrEqualTo(15));
        foreach (var f in files) Assert.That(ExpectedPointer(f), Does.StartWith("/"), f);
    }

    [TestCaseSource(nameof(Configs))]
    public void Rejected(string? file)
    {
        if (file is null) Assert.Ignore("corpus folder not present in this checkout yet");
        var expected = ExpectedPointer(file!);
        var bundle = MakeBundle(file!, Path.Combine(Tmp, "bundle"));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadBundle(bundle, forCreate: true));
        Assert.That(e!.Message, Does.Not.Contain("\n"));
        if (expected is not null) Assert.That(e.Pointer, Is.EqualTo(expected), e.Message);
        Assert.That(e.Message, Does.StartWith("invalid config: " + (e.Pointer.Length == 0 ? "/" : e.Pointer) + ": "));
    }
}
