// JSON-schema validation of config.json, state and features documents against runcs's own schemas
// (specs/*.json, embedded as manifest resources "specs/<name>.json").
//
// The schemas are parsed and built once per process, on first use, into one private SchemaRegistry so
// the $refs between the files resolve without touching the global registry or the network. A valid
// document costs one "flag" evaluation; only an invalid one is evaluated again with the "list" output
// to collect where and why it failed. Errors are rewritten into short rules that name the offending
// value ("value \"foo\" is not one of mount, pid, ...") with the JSON pointer of the instance value,
// most specific (deepest) first.
//
// The schema only checks shape. Rules it cannot express (unique namespace types, absolute mount
// destinations, known capability/rlimit names...) are the semantic validator's job.

using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

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
        using var parsed = JsonDocument.Parse(buffer.WrittenMemory);
        return Validate(schemaName, parsed.RootElement);
    }

    /// <summary>Validates against any embedded schema by file name (e.g. "config-schema.json").</summary>
    public static IReadOnlyList<SchemaError> Validate(string schemaName, JsonElement doc)
    {
        var schemas = Loaded.Value;
        if (!schemas.Roots.TryGetValue(schemaName, out var schema))
            throw new ArgumentException($"no embedded schema named {schemaName}", nameof(schemaName));

        if (schema.Evaluate(doc, FlagOptions).IsValid) return [];
        var results = schema.Evaluate(doc, ListOptions);
        return Explain(results, doc, schemas);
    }

    /// <summary>The names of the embedded schema files (for diagnostics and tests).</summary>
    public static IReadOnlyCollection<string> SchemaNames => Loaded.Value.Roots.Keys;

    // ---- loading -------------------------------------------------------------------------------

    private static readonly EvaluationOptions FlagOptions = new() { OutputFormat = OutputFormat.Flag };
    private static readonly EvaluationOptions ListOptions = new() { OutputFormat = OutputFormat.List };

    private static readonly Lazy<LoadedSchemas> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed class LoadedSchemas
    {
        public readonly Dictionary<string, JsonSchema> Roots = new(StringComparer.Ordinal);
        // Raw documents by absolute URI (no fragment), used to quote keyword values in messages.
        public readonly Dictionary<string, JsonElement> Raw = new(StringComparer.Ordinal);
    }

    private static LoadedSchemas Load()
    {
        var assembly = typeof(SchemaValidator).Assembly;
        var loaded = new LoadedSchemas();
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith("specs/", StringComparison.Ordinal) ||
                !resource.EndsWith(".json", StringComparison.Ordinal)) continue;
            var name = resource["specs/".Length..];
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"embedded schema {resource} is missing");
            // The document stays alive for the whole process: the built schema and the message
            // helper both read from it.
            var document = JsonDocument.Parse(stream);
            var baseUri = new Uri(BaseUri + name);
            var schema = JsonSchema.Build(document.RootElement, options, baseUri);
            loaded.Roots[name] = schema;
            var id = document.RootElement.TryGetProperty("$id", out var idValue) && idValue.GetString() is { } s
                ? s : baseUri.OriginalString;
            loaded.Raw[id] = document.RootElement;
        }
        if (!loaded.Roots.ContainsKey(ConfigSchema))
            throw new InvalidOperationException("runcs was built without its embedded schemas (specs/*.json)");
        return loaded;
    }

    // ---- explaining failures -------------------------------------------------------------------

    private static List<SchemaError> Explain(EvaluationResults results, JsonElement instance, LoadedSchemas schemas)
    {
        var found = new List<(SchemaError Error, int Depth, string Keyword, int Order)>();
        var nodes = new List<EvaluationResults> { results };
        if (results.Details is { } details) nodes.AddRange(details);

        foreach (var node in nodes)
        {
            if (node.Errors is not { Count: > 0 } errors) continue;
            var evaluationPath = node.EvaluationPath.ToString();
            // A failing "if" only picks the branch; it is not an error in the document.
            if (IsUnder(evaluationPath, "if")) continue;
            var pointer = node.InstanceLocation.ToString();
            var value = Resolve(instance, pointer);
            foreach (var (keyword, libraryMessage) in errors)
            {
                var schemaObject = SchemaObject(schemas, node.SchemaLocation, keyword);
                foreach (var message in Describe(keyword, libraryMessage, schemaObject, value, evaluationPath))
                    found.Add((new SchemaError(pointer, message), Depth(pointer), keyword, found.Count));
            }
        }

        // A wrong type makes every other rule at the same place noise.
        var typeErrorAt = new HashSet<string>(found.Where(f => f.Keyword == "type").Select(f => f.Error.Pointer), StringComparer.Ordinal);
        var seen = new HashSet<SchemaError>();
        return found
            .Where(f => f.Keyword == "type" || !typeErrorAt.Contains(f.Error.Pointer))
            .OrderByDescending(f => f.Depth).ThenBy(f => f.Order)
            .Select(f => f.Error)
            .Where(seen.Add)
            .ToList();
    }

    private static IEnumerable<string> Describe(string keyword, string fallback, JsonElement? schema, JsonElement? value, string evaluationPath)
    {
        JsonElement rule = default;
        var hasRule = schema is { } s && s.TryGetProperty(keyword, out rule);
        var inPropertyNames = IsUnder(evaluationPath, "propertyNames");
        var subject = inPropertyNames ? "property name" : "value";
        switch (keyword)
        {
            case "type" when hasRule:
                yield return $"expected {TypeList(rule)}, got {Render(value)}";
                yield break;
            case "enum" when hasRule && rule.ValueKind == JsonValueKind.Array:
                yield return $"{subject} {Quote(value)} is not one of {string.Join(", ", rule.EnumerateArray().Select(Bare))}";
                yield break;
            case "required" when hasRule && rule.ValueKind == JsonValueKind.Array:
                var any = false;
                foreach (var name in rule.EnumerateArray())
                {
                    if (name.GetString() is not { } property) continue;
                    if (value is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(property, out _)) continue;
                    any = true;
                    yield return $"required property \"{property}\" is missing";
                }
                if (!any) yield return fallback;
                yield break;
            case "pattern" when hasRule:
                yield return $"{subject} {Quote(value)} does not match the pattern {rule.GetString()}";
                yield break;
            case "minimum" when hasRule:
                yield return $"{subject} {Quote(value)} is less than the minimum {rule.GetRawText()}";
                yield break;
            case "maximum" when hasRule:
                yield return $"{subject} {Quote(value)} is greater than the maximum {rule.GetRawText()}";
                yield break;
            case "minItems" when hasRule:
                yield return $"array needs at least {rule.GetRawText()} item(s), has {(value is { ValueKind: JsonValueKind.Array } a ? a.GetArrayLength() : 0)}";
                yield break;
            case "minLength" when hasRule && inPropertyNames:
                yield return $"property name {Quote(value)} must have at least {rule.GetRawText()} character(s)";
                yield break;
            case "minLength" when hasRule:
                yield return $"value {Quote(value)} must have at least {rule.GetRawText()} character(s)";
                yield break;
            default:
                yield return $"{keyword}: {fallback}";
                yield break;
        }
    }

    // JsonSchema.Net 8.0.5 reports the SchemaLocation of a subschema under a single-schema applicator
    // (items, additionalProperties, propertyNames, ...) with an extra segment repeating the parent's
    // name: ".../properties/rlimits/items/rlimits/properties/type". Try the location with those echoes
    // removed, then as given, then without its last segment; take the first candidate that is a schema
    // object holding the failing keyword. If none is, the caller falls back to the library's message.
    private static readonly HashSet<string> SingleSchemaApplicators = new(StringComparer.Ordinal)
    {
        "items", "additionalItems", "additionalProperties", "propertyNames", "contains", "not",
        "if", "then", "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    };

    private static JsonElement? SchemaObject(LoadedSchemas schemas, Uri location, string keyword)
    {
        var text = location.OriginalString;
        var hash = text.IndexOf('#');
        var document = hash < 0 ? text : text[..hash];
        var fragment = hash < 0 ? "" : Uri.UnescapeDataString(text[(hash + 1)..]);
        if (!schemas.Raw.TryGetValue(document, out var root)) return null;

        var tokens = fragment.Length == 0 ? [] : fragment[1..].Split('/').ToList();
        var normalized = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (i >= 2 && SingleSchemaApplicators.Contains(tokens[i - 1]) && tokens[i] == tokens[i - 2]) continue;
            normalized.Add(tokens[i]);
        }
        var candidates = new[]
        {
            Join(normalized),
            fragment,
            tokens.Count > 0 ? Join(tokens.GetRange(0, tokens.Count - 1)) : null,
        };
        foreach (var candidate in candidates)
        {
            if (candidate is null) continue;
            if (Resolve(root, candidate) is { ValueKind: JsonValueKind.Object } schema && schema.TryGetProperty(keyword, out _))
                return schema;
        }
        return null;

        static string Join(List<string> parts) => parts.Count == 0 ? "" : "/" + string.Join('/', parts);
    }

    private static JsonElement? Resolve(JsonElement root, string pointer)
    {
        if (pointer.Length == 0) return root;
        if (pointer[0] != '/') return null;
        var current = root;
        foreach (var raw in pointer[1..].Split('/'))
        {
            var token = raw.Replace("~1", "/").Replace("~0", "~");
            switch (current.ValueKind)
            {
                case JsonValueKind.Object when current.TryGetProperty(token, out var child):
                    current = child;
                    break;
                case JsonValueKind.Array when int.TryParse(token, out var index) && index >= 0 && index < current.GetArrayLength():
                    current = current[index];
                    break;
                default:
                    return null;
            }
        }
        return current;
    }

    private static bool IsUnder(string evaluationPath, string keyword) =>
        evaluationPath.EndsWith("/" + keyword, StringComparison.Ordinal) ||
        evaluationPath.Contains("/" + keyword + "/", StringComparison.Ordinal);

    private static int Depth(string pointer)
    {
        var depth = 0;
        foreach (var c in pointer) if (c == '/') depth++;
        return depth;
    }

    private static string TypeList(JsonElement rule) => rule.ValueKind == JsonValueKind.Array
        ? string.Join(" or ", rule.EnumerateArray().Select(Bare))
        : Bare(rule);

    private static string Bare(JsonElement element) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();

    private static string Quote(JsonElement? value)
    {
        if (value is not { } v) return "(missing)";
        return v.ValueKind switch
        {
            JsonValueKind.Object => "{...}",
            JsonValueKind.Array => "[...]",
            JsonValueKind.String => Shorten(v.GetRawText()),
            _ => v.GetRawText(),
        };
    }

    private static string Render(JsonElement? value)
    {
        if (value is not { } v) return "nothing";
        return v.ValueKind switch
        {
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string " + Shorten(v.GetRawText()),
            JsonValueKind.Number => "number " + v.GetRawText(),
            JsonValueKind.True or JsonValueKind.False => "boolean " + v.GetRawText(),
            _ => "null",
        };
    }

    private static string Shorten(string json)
    {
        const int Max = 80;
        if (json.Length <= Max) return json;
        var sb = new StringBuilder(Max + 4);
        sb.Append(json, 0, Max - 1).Append("...\"");
        return sb.ToString();
    }
}
