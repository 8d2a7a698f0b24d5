using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Foundation;

/// <summary>
/// Issue #2 / DESIGN.md "Errors and bad input": `runcs create` on a semantically bad config exits 1
/// with one stderr line naming the JSON pointer, and leaves --root untouched. Corpora:
/// tests/conformance/Foundation/bad-configs (NAME.json + NAME.pointer) and
/// tests/Runtime.Tests/corpus/semantic-bad when it exists. Until `create` is implemented it fails
/// with "not implemented" before validating; such cases are reported as ignored (the same files are
/// checked in-process by Runtime.Tests' BadConfigTests meanwhile).
/// </summary>
[TestFixture]
public class BadConfigTests : TempDirTest
{
    private static readonly string[] CorpusDirs =
    [
        Path.Combine("tests", "conformance", "Foundation", "bad-configs"),
        Path.Combine("tests", "Runtime.Tests", "corpus", "semantic-bad"),
    ];

    public static IEnumerable<TestCaseData> Configs()
    {
        foreach (var rel in CorpusDirs)
        {
            var dir = Path.Combine(Env.Repo, rel);
            var tag = rel.Replace(Path.DirectorySeparatorChar, '/');
            if (!Directory.Exists(dir))
            {
                yield return new TestCaseData(null).SetName($"Create_BadConfig_{tag}_(absent)");
                continue;
            }
            foreach (var f in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
                yield return new TestCaseData(f).SetName($"Create_BadConfig_{tag}_{Path.GetFileNameWithoutExtension(f)}");
        }
    }

    private static string? ExpectedPointer(string file)
    {
        var p = Path.ChangeExtension(file, ".pointer");
        return File.Exists(p) ? File.ReadAllText(p).Trim() : null;
    }

    private static void MakeBundle(string file, string dir, string? expected)
    {
        Directory.CreateDirectory(dir);
        var text = File.ReadAllText(file);
        if (expected != "/root/path" && JsonNode.Parse(text) is JsonObject o && o["root"]?["path"]?.GetValue<string>() is { } rp)
        {
            if (Path.IsPathRooted(rp)) { o["root"]!["path"] = rp = "rootfs"; text = o.ToJsonString(); }
            Directory.CreateDirectory(Path.Combine(dir, rp));
        }
        File.WriteAllText(Path.Combine(dir, "config.json"), text);
    }

    [TestCaseSource(nameof(Configs))]
    public void Create_RejectsWithPointer_RootUntouched(string? file)
    {
        if (file is null) Assert.Ignore("corpus folder not present in this checkout yet");
        var expected = ExpectedPointer(file!);
        var bundle = Path.Combine(Tmp, "bundle");
        MakeBundle(file!, bundle, expected);
        var root = Path.Combine(Tmp, "root");
        Directory.CreateDirectory(root);
        var id = "bad-" + Path.GetFileNameWithoutExtension(file);
        var r = Run.Runcs("--root", root, "create", "--bundle", bundle, id);
        if (r.ExitCode == 1 && r.Stderr.Contains("not implemented"))
            Assert.Ignore("create is not implemented yet (the config is checked in-process by Runtime.Tests)");
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(Lines(r.Stderr), Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.Stderr, Does.Contain("invalid config: " + (expected ?? "/")), r.Stderr);
        Assert.That(Directory.EnumerateFileSystemEntries(root), Is.Empty, "--root must be untouched");
        Assert.That(Directory.EnumerateFileSystemEntries(bundle).Select(Path.GetFileName), Is.SubsetOf(new[] { "config.json", "rootfs", "no-such-rootfs" }), "nothing written into the bundle");
    }
}
