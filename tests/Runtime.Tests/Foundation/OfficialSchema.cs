using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Runcs.Tests.Foundation;

/// <summary>
/// The official runtime-spec v1.3.0 JSON schemas (../shared/oci-runtime-spec-v1.3.0/schema),
/// every file registered under one base URI so their relative $refs ("defs.json#/...",
/// "config-linux.json#/linux") resolve.
///
/// The official files declare draft-04. JsonSchema.Net 8.0.5 has no draft-04 dialect (it knows
/// draft-06 and later), so they are evaluated with the draft-07 dialect: their `$schema` is
/// rewritten to draft-07 on load. The keywords they use (type, properties, required, enum,
/// pattern, minimum/maximum without exclusive*, items, oneOf/anyOf, $ref, additionalProperties,
/// minItems, uniqueItems) mean the same in both drafts, so the verdicts do not change.
/// </summary>
public static class OfficialSchema
{
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
                // Build every file (dependencies are resolved lazily at evaluation time).
                foreach (var file in Directory.GetFiles(TestDirs.OfficialSchemaDir, "*.json"))
                {
                    var name = Path.GetFileName(file);
                    var schema = JsonSchema.FromText(Draft07Text(file), options, new Uri(Base, name));
                    options.SchemaRegistry.Register(new Uri(Base, name), schema);
                }
                return _options = options;
            }
        }
    }

    private static string Draft07Text(string file)
    {
        var node = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        node["$schema"] = "http://json-schema.org/draft-07/schema#";
        return node.ToJsonString();
    }

    /// <summary>Evaluates a JSON document against one of the official top-level schemas.</summary>
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
