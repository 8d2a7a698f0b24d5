using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using NUnit.Framework;

namespace Runcs.Conformance.Foundation;

/// <summary>Base for fixtures that need a temporary directory per test, removed even on failure.</summary>
public abstract class TempDirTest
{
    protected string Tmp { get; private set; } = "";

    [SetUp]
    public void MakeTemp()
    {
        Tmp = Path.Combine(Path.GetTempPath(), $"runcs-ct-{GetType().Name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Tmp);
    }

    [TearDown]
    public void RemoveTemp()
    {
        try { if (Directory.Exists(Tmp)) Directory.Delete(Tmp, recursive: true); }
        catch (Exception e) { TestContext.Out.WriteLine($"cleanup of {Tmp} failed: {e.Message}"); }
    }

    /// <summary>Lines of a stream's text without the final newline.</summary>
    protected static string[] Lines(string s) => s.Length == 0 ? [] : s.TrimEnd('\n').Split('\n');
}

/// <summary>
/// The official runtime-spec v1.3.0 schemas (../shared/oci-runtime-spec-v1.3.0/schema, a sibling of
/// the checkout), every file registered under one base URI so their relative $refs resolve.
/// The files declare draft-04, which JsonSchema.Net 8.0.5 does not implement; they are evaluated
/// with its draft-07 dialect ($schema rewritten on load). The keywords they use mean the same in
/// both drafts (no exclusiveMinimum/Maximum, no id-based scoping).
/// </summary>
public static class OfficialSchema
{
    public static string Dir => Path.GetFullPath(Path.Combine(Env.Repo, "..", "shared", "oci-runtime-spec-v1.3.0", "schema"));

    private static readonly Uri Base = new("https://runcs.test/oci-runtime-spec/v1.3.0/schema/");
    private static readonly object Gate = new();
    private static BuildOptions? _options;

    private static BuildOptions Options
    {
        get
        {
            lock (Gate)
            {
                if (_options != null) return _options;
                var options = new BuildOptions { Dialect = Dialect.Draft07 };
                foreach (var file in Directory.GetFiles(Dir, "*.json"))
                {
                    var uri = new Uri(Base, Path.GetFileName(file));
                    var node = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
                    node["$schema"] = "http://json-schema.org/draft-07/schema#";
                    options.SchemaRegistry.Register(uri, JsonSchema.FromText(node.ToJsonString(), options, uri));
                }
                return _options = options;
            }
        }
    }

    public static (bool Valid, string Errors) Evaluate(string schemaFile, string json)
    {
        var schema = Options.SchemaRegistry.Get(new Uri(Base, schemaFile)) as JsonSchema
            ?? throw new InvalidOperationException($"official schema {schemaFile} is not registered");
        using var doc = JsonDocument.Parse(json);
        var r = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (r.IsValid) return (true, "");
        var sb = new System.Text.StringBuilder();
        foreach (var d in r.Details ?? [])
            if (d.Errors is { Count: > 0 } errs)
                foreach (var (k, v) in errs) sb.Append(d.InstanceLocation).Append(' ').Append(k).Append(": ").Append(v).Append('\n');
        return (false, sb.Length > 0 ? sb.ToString() : "invalid (no details)");
    }
}
