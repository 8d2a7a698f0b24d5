using System.Text.Json;
using Json.Schema;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Schema;

/// <summary>Where the test data lives and how each schema (official and runcs's) reaches a verdict.</summary>
public static class SchemaTestData
{
    /// <summary>The repository root: $RUNCS_REPO, else the first parent of the test binary holding OciRuntime.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Shared reference data beside the repository (/work/shared, or ../shared beside a CI clone).</summary>
    public static string SharedDir { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string OfficialSchemaDir => Path.Combine(SharedDir, "oci-runtime-spec-v1.3.0", "schema");
    public static string CorpusDir => Path.Combine(RepoRoot, "tests", "Runtime.Tests", "corpus");

    private static string FindRepoRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("RUNCS_REPO");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(Path.Combine(fromEnv, "OciRuntime.sln"))) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OciRuntime.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no OciRuntime.sln above {AppContext.BaseDirectory}");
    }

    // ---- the official schema -------------------------------------------------------------------
    //
    // The official files declare draft-04, which JsonSchema.Net 8 does not implement. Every keyword
    // they use (type, properties, patternProperties, additionalProperties, required, enum, pattern,
    // minimum, maximum, items, minItems, anyOf, allOf, $ref, definitions, description) means the same
    // in draft-07, so they are built with the draft-07 dialect registered under the draft-04 meta-schema
    // URI. The one draft-04 difference that could matter, "integer" rejecting 1.0, is avoided by the
    // corpus (no integer-valued field is written with a fraction). Files carry no "id", so each is built
    // under an explicit base URI file:///oci-runtime-spec/schema/<name> and the relative $refs
    // ("defs.json#/definitions/...") resolve in the shared registry.
    // Pitfall (JsonSchema.Net 8.0.5): a base URI made from a bare path (new Uri("/work/x.json"), which is
    // also what JsonSchema.FromFile does) makes the built schema accept every document, silently.
    // SanityTests checks that the official schema does reject something.

    private static readonly Lazy<Dictionary<string, JsonSchema>> Official = new(LoadOfficial);

    private static Dictionary<string, JsonSchema> LoadOfficial()
    {
        var draft04 = new Uri("http://json-schema.org/draft-04/schema#");
        var dialect = Dialect.Draft07.With([], draft04);
        var dialects = new DialectRegistry();
        dialects.Register(dialect);
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry(), DialectRegistry = dialects, Dialect = dialect };
        var result = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(OfficialSchemaDir, "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var schema = JsonSchema.FromText(File.ReadAllText(file), options, new Uri("file:///oci-runtime-spec/schema/" + name));
            result[name] = schema;
        }
        return result;
    }

    public static bool OfficialAccepts(string schemaFile, string text)
    {
        if (!TryParse(text, out var doc)) return false;
        using (doc) return Official.Value[schemaFile].Evaluate(doc!.RootElement).IsValid;
    }

    public static IReadOnlyList<SchemaError>? OursErrors(string schemaFile, string text)
    {
        if (!TryParse(text, out var doc)) return null;
        using (doc) return SchemaValidator.Validate(schemaFile, doc!.RootElement);
    }

    /// <summary>runcs's verdict; unparsable text is rejected like any invalid document.</summary>
    public static bool OursAccepts(string schemaFile, string text) => OursErrors(schemaFile, text) is { Count: 0 };

    private static bool TryParse(string text, out JsonDocument? doc)
    {
        try { doc = JsonDocument.Parse(text); return true; }
        catch (JsonException) { doc = null; return false; }
    }

    // ---- runcs's schemas evaluated by JsonSchema.Net (the reference for runcs's own evaluator) ----
    //
    // specs/*.json read from the repository, built into one private registry under their $ids, as the
    // runtime did before it had its own evaluator.

    private static readonly Lazy<Dictionary<string, JsonSchema>> Reference = new(LoadReference);

    private static Dictionary<string, JsonSchema> LoadReference()
    {
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        var result = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(RepoRoot, "specs"), "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var document = JsonDocument.Parse(File.ReadAllText(file)); // kept alive: the schema reads from it
            result[name] = JsonSchema.Build(document.RootElement, options, new Uri(SchemaValidator.BaseUri + name));
        }
        return result;
    }

    private static readonly EvaluationOptions ReferenceList = new() { OutputFormat = OutputFormat.List };

    /// <summary>JsonSchema.Net's verdict on runcs's schema and the instance locations it reports errors
    /// at (errors under an "if" are only the branch condition and are left out).</summary>
    public static (bool Valid, HashSet<string> Pointers) ReferenceVerdict(string schemaFile, JsonElement doc)
    {
        var results = Reference.Value[schemaFile].Evaluate(doc, ReferenceList);
        var pointers = new HashSet<string>(StringComparer.Ordinal);
        var nodes = new List<EvaluationResults> { results };
        if (results.Details is { } details) nodes.AddRange(details);
        foreach (var node in nodes)
        {
            if (node.Errors is not { Count: > 0 }) continue;
            var path = node.EvaluationPath.ToString();
            if (path.EndsWith("/if", StringComparison.Ordinal) || path.Contains("/if/", StringComparison.Ordinal)) continue;
            pointers.Add(node.InstanceLocation.ToString());
        }
        return (results.IsValid, pointers);
    }

    // ---- case sources --------------------------------------------------------------------------

    /// <summary>(kind, verdict dir, file) for every official fixture; kind is config, state or features.</summary>
    public static IEnumerable<TestCaseData> OfficialFixtures()
    {
        var root = Path.Combine(OfficialSchemaDir, "test");
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"official fixtures not found at {root}");
        foreach (var kind in new[] { "config", "state", "features" })
            foreach (var verdict in new[] { "good", "bad" })
                foreach (var file in Directory.GetFiles(Path.Combine(root, kind, verdict), "*.json").Order(StringComparer.Ordinal))
                    yield return new TestCaseData(kind, verdict == "good", file)
                        .SetName($"Official({kind}/{verdict}/{Path.GetFileName(file)})");
    }

    public static IEnumerable<TestCaseData> Corpus(string folder)
    {
        var dir = Path.Combine(CorpusDir, folder);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"corpus folder not found at {dir}");
        foreach (var file in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
            yield return new TestCaseData(file).SetName($"Corpus({folder}/{Path.GetFileName(file)})");
    }

    public static string SchemaFileFor(string kind) => kind + "-schema.json";
}
