// JSON-schema validation of config.json, state and features documents against runcs's own schemas
// (specs/*.json, embedded as manifest resources "specs/<name>.json").
//
// The schemas are evaluated by runcs's own small draft 2020-12 evaluator (SchemaEvaluator.cs), which
// knows exactly the keywords those files use. Nothing is loaded at process start: a schema file is
// parsed and compiled on the first validation that needs it. A valid document costs one walk that
// allocates next to nothing; only an invalid one is walked again to collect where and why it failed.
// Errors are short rules that name the offending value ("value \"foo\" is not one of mount, pid, ...")
// with the JSON pointer of the instance value, most specific (deepest) first.
//
// The schema only checks shape. Rules it cannot express (unique namespace types, absolute mount
// destinations, known capability/rlimit names...) are the semantic validator's job.

using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Runcs.Spec;

/// <summary>One schema violation: the JSON pointer of the offending instance value ("" is the document
/// itself; for a missing required property it is the object that lacks it) and a short rule.</summary>
public readonly record struct SchemaError(string Pointer, string Message)
{
    public override string ToString() => Pointer.Length == 0 ? Message : $"{Pointer}: {Message}";
}

public static class SchemaValidator
{
    /// <summary>Base URI shared by the $id of every schema under specs/.</summary>
    public const string BaseUri = "https://runcs.invalid/specs/";

    public const string ConfigSchema = "config-schema.json";
    public const string StateSchema = "state-schema.json";
    public const string FeaturesSchema = "features-schema.json";

    public static IReadOnlyList<SchemaError> ValidateConfig(JsonNode? doc) => Validate(ConfigSchema, doc);
    public static IReadOnlyList<SchemaError> ValidateConfig(JsonElement doc) => Validate(ConfigSchema, doc);
    public static IReadOnlyList<SchemaError> ValidateState(JsonNode? doc) => Validate(StateSchema, doc);
    public static IReadOnlyList<SchemaError> ValidateState(JsonElement doc) => Validate(StateSchema, doc);
    public static IReadOnlyList<SchemaError> ValidateFeatures(JsonNode? doc) => Validate(FeaturesSchema, doc);
    public static IReadOnlyList<SchemaError> ValidateFeatures(JsonElement doc) => Validate(FeaturesSchema, doc);

    /// <summary>Validates against any embedded schema by file name (e.g. "config-schema.json").</summary>
    public static IReadOnlyList<SchemaError> Validate(string schemaName, JsonNode? doc)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (doc is null) writer.WriteNullValue();
            else doc.WriteTo(writer);
        }
        // The writer's own depth limit (1000) bounds the text; the parser's default (64) must not reject it.
        using var parsed = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = 1000 });
        return Validate(schemaName, parsed.RootElement);
    }

    /// <summary>Validates against any embedded schema by file name (e.g. "config-schema.json").</summary>
    public static IReadOnlyList<SchemaError> Validate(string schemaName, JsonElement doc)
    {
        var schema = SchemaEvaluator.Root(schemaName)
            ?? throw new ArgumentException($"no embedded schema named {schemaName}", nameof(schemaName));
        if (SchemaEvaluator.IsValid(schema, doc)) return [];
        return Explain(SchemaEvaluator.Failures(schema, doc));
    }

    /// <summary>The names of the embedded schema files (for diagnostics and tests).</summary>
    public static IReadOnlyCollection<string> SchemaNames => SchemaEvaluator.Names;

    // A wrong type makes every other rule at the same place noise. The rest is ordered deepest first;
    // at the same depth a wrong value comes before a missing property, then evaluation order decides.
    // Duplicates (one schema reached twice) are dropped.
    private static List<SchemaError> Explain(List<SchemaFailure> failures)
    {
        var typeErrorAt = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in failures)
            if (f.Keyword == "type") typeErrorAt.Add(f.Pointer);

        var kept = new List<(SchemaError Error, int Depth, bool Missing, int Order)>(failures.Count);
        var seen = new HashSet<SchemaError>();
        foreach (var f in failures)
        {
            if (f.Keyword != "type" && typeErrorAt.Contains(f.Pointer)) continue;
            var error = new SchemaError(f.Pointer, f.Message);
            if (seen.Add(error)) kept.Add((error, Depth(f.Pointer), f.Keyword == "required", kept.Count));
        }
        kept.Sort(static (a, b) =>
            a.Depth != b.Depth ? b.Depth.CompareTo(a.Depth) :
            a.Missing != b.Missing ? a.Missing.CompareTo(b.Missing) :
            a.Order.CompareTo(b.Order));
        var result = new List<SchemaError>(kept.Count);
        foreach (var k in kept) result.Add(k.Error);
        return result;
    }

    private static int Depth(string pointer)
    {
        var depth = 0;
        foreach (var c in pointer) if (c == '/') depth++;
        return depth;
    }
}
