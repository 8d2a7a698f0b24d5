using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Schema;

/// <summary>runcs's own schema evaluator against JsonSchema.Net (the reference), both on runcs's
/// schemas (specs/*.json): same verdict, and runcs's first error is at a place the reference reports.
/// Inputs: every official fixture, every corpus file, the real-world configs, and thousands of seeded
/// mutations of them.</summary>
[TestFixture]
public class DifferentialTests
{
    private sealed record Base(string Name, string Schema, string Text);

    private static readonly Lazy<List<Base>> Bases = new(LoadBases);

    private static List<Base> LoadBases()
    {
        var bases = new List<Base>();
        foreach (var data in SchemaTestData.OfficialFixtures())
        {
            var kind = (string)data.Arguments[0]!;
            var file = (string)data.Arguments[2]!;
            bases.Add(new Base(file, SchemaTestData.SchemaFileFor(kind), File.ReadAllText(file)));
        }
        foreach (var folder in new[] { "good", "bad", "semantic-bad" })
            foreach (var file in Directory.GetFiles(Path.Combine(SchemaTestData.CorpusDir, folder), "*.json").Order(StringComparer.Ordinal))
                bases.Add(new Base(file, SchemaValidator.ConfigSchema, File.ReadAllText(file)));
        foreach (var file in Directory.GetFiles(Path.Combine(SchemaTestData.SharedDir, "real-world-configs"), "*.json").Order(StringComparer.Ordinal))
            bases.Add(new Base(file, SchemaValidator.ConfigSchema, File.ReadAllText(file)));
        return bases;
    }

    [Test]
    public void EveryEmbeddedSchemaCompilesWithKnownKeywordsOnly()
    {
        // Throws on an unknown keyword or an unresolvable $ref anywhere in specs/*.json.
        Assert.That(SchemaEvaluator.CompileAll(), Is.GreaterThan(100));
    }

    [Test]
    public void UnknownKeywordsAreRefused()
    {
        var schemaKeywords = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(SchemaTestData.RepoRoot, "specs"), "*.json"))
            CollectKeywords(JsonNode.Parse(File.ReadAllText(file)), schemaKeywords);
        var supported = new[]
        {
            "$schema", "$id", "$ref", "$defs", "$comment", "title", "description", "type", "properties",
            "additionalProperties", "propertyNames", "required", "items", "minItems", "minLength", "enum",
            "pattern", "minimum", "maximum", "if", "then",
        };
        Assert.That(schemaKeywords, Is.SubsetOf(supported), "specs/*.json use a keyword SchemaEvaluator does not implement");
    }

    private static void CollectKeywords(JsonNode? schema, HashSet<string> into)
    {
        if (schema is not JsonObject obj) return;
        foreach (var (keyword, value) in obj)
        {
            into.Add(keyword);
            switch (keyword)
            {
                case "properties" or "$defs":
                    foreach (var (_, sub) in value!.AsObject()) CollectKeywords(sub, into);
                    break;
                case "items" or "additionalProperties" or "propertyNames" or "if" or "then" or "else" or "not" or "contains":
                    CollectKeywords(value, into);
                    break;
                case "allOf" or "anyOf" or "oneOf":
                    foreach (var sub in value!.AsArray()) CollectKeywords(sub, into);
                    break;
            }
        }
    }

    [Test]
    public void EveryBaseDocumentAgrees()
    {
        var mismatches = new List<string>();
        var compared = 0;
        foreach (var b in Bases.Value)
            if (Compare(b.Schema, b.Text, b.Name, mismatches)) compared++;
        TestContext.Out.WriteLine($"{compared} documents compared");
        Assert.That(compared, Is.GreaterThan(150));
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    [Test]
    public void MutationsAgree()
    {
        const int PerBase = 40;
        var random = new Random(20251);
        var mismatches = new List<string>();
        var compared = 0;
        var invalid = 0;
        var known = 0;
        var sw = Stopwatch.StartNew();
        foreach (var b in Bases.Value)
        {
            JsonNode? original;
            try { original = JsonNode.Parse(b.Text); }
            catch (JsonException) { continue; }
            if (original is null) continue;
            for (var i = 0; i < PerBase; i++)
            {
                var doc = original.DeepClone();
                var steps = 1 + random.Next(3);
                var what = new StringBuilder();
                for (var s = 0; s < steps; s++) doc = Mutate(doc, random, what);
                var text = doc?.ToJsonString() ?? "null";
                if (Compare(b.Schema, text, $"{Path.GetFileName(b.Name)} +{what}", mismatches, countInvalid: () => invalid++, knownDifferences: () => known++)) compared++;
            }
        }
        TestContext.Out.WriteLine($"{compared} mutations compared ({invalid} invalid, {known} known differences) in {sw.Elapsed.TotalSeconds:F1} s");
        Assert.That(compared, Is.GreaterThanOrEqualTo(5000));
        Assert.That(invalid, Is.GreaterThan(compared / 4), "the mutations should mostly break something");
        Assert.That(mismatches, Is.Empty, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(20)));
    }

    /// <summary>Edge cases, each with the verdict draft 2020-12 gives. runcs must give it; so must the
    /// reference, except where JsonSchema.Net 8.0.5 is known to be wrong (referenceWrong), the deliberate
    /// differences: it reads numbers as decimal (28 digits: 1.00…01 and 1e-400 become integers) and runs
    /// "pattern" with .NET's "$", which also matches before a final "\n".</summary>
    [TestCase("/process/user/uid", "4294967295", true)]
    [TestCase("/process/user/uid", "4294967295.0", true, Description = "2020-12: a number with a zero fraction is an integer")]
    [TestCase("/process/user/uid", "4294967296", false)]
    [TestCase("/process/user/uid", "4.294967295e9", true)]
    [TestCase("/process/user/uid", "4294967295.5", false)]
    [TestCase("/process/user/uid", "1.00000000000000000000000000000001", false, true, Description = "beyond decimal's precision")]
    [TestCase("/process/user/uid", "-0", true)]
    [TestCase("/process/user/uid", "1e400", false)]
    [TestCase("/process/user/uid", "-1e400", false)]
    [TestCase("/process/user/uid", "1e-400", false, true)]
    [TestCase("/process/user/uid", "0.00000000000000000000000000000001", false)]
    [TestCase("/process/rlimits/0/soft", "18446744073709551615", true)]
    [TestCase("/process/rlimits/0/soft", "18446744073709551616", false)]
    [TestCase("/process/rlimits/0/soft", "1.8446744073709551615e19", true)]
    [TestCase("/process/rlimits/0/soft", "1.8446744073709551616e19", false)]
    [TestCase("/linux/resources/memory/limit", "-9223372036854775808", true)]
    [TestCase("/linux/resources/memory/limit", "-9223372036854775809", false)]
    [TestCase("/linux/resources/memory/limit", "9223372036854775807", true)]
    [TestCase("/linux/resources/memory/limit", "9223372036854775808", false)]
    [TestCase("/process/rlimits/0/type", "\"RLIMIT_NOFILE\"", true)]
    [TestCase("/process/rlimits/0/type", "\"RLIMIT_NOFIL\\u0045\"", true, Description = "escaped string")]
    [TestCase("/process/rlimits/0/type", "\"RLIMIT_NOFILE\\n\"", false, true, Description = "ECMA-262 $ is the very end")]
    [TestCase("/linux/namespaces/0/type", "\"\\u0070id\"", true)]
    [TestCase("/annotations", "{\"\":\"x\"}", false)]
    [TestCase("/annotations", "{\"\\u00e9\":\"x\"}", true)]
    public void EdgeCases(string pointer, string json, bool valid, bool referenceWrong = false)
    {
        var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(SchemaTestData.CorpusDir, "good", "base.json")))!;
        doc["process"]!["rlimits"] = JsonNode.Parse("""[{"type":"RLIMIT_NOFILE","soft":1,"hard":1}]""");
        doc["linux"]!["resources"] = JsonNode.Parse("""{"memory":{}}""");
        var tokens = pointer[1..].Split('/');
        JsonNode parent = doc;
        foreach (var t in tokens[..^1]) parent = int.TryParse(t, out var i) ? parent[i]! : parent[t] ??= new JsonObject();
        var text = doc.ToJsonString();
        var value = "\u0001VALUE\u0001";
        if (int.TryParse(tokens[^1], out var index)) parent[index] = value; else parent[tokens[^1]] = value;
        text = doc.ToJsonString().Replace("\"\\u0001VALUE\\u0001\"", json);
        using var parsed = JsonDocument.Parse(text);
        var ours = SchemaValidator.ValidateConfig(parsed.RootElement);
        var (reference, _) = SchemaTestData.ReferenceVerdict(SchemaValidator.ConfigSchema, parsed.RootElement);
        Assert.Multiple(() =>
        {
            Assert.That(ours, valid ? Is.Empty : Is.Not.Empty, "runcs");
            Assert.That(reference, Is.EqualTo(valid != referenceWrong), "JsonSchema.Net");
        });
        if (!valid) Assert.That(ours[0].Pointer, Does.StartWith(pointer), string.Join("\n", ours));
    }

    // Where JsonSchema.Net 8.0.5 is wrong (see EdgeCases): numbers beyond decimal's 28 digits, and a
    // string ending in a newline checked by a pattern ending in "$".
    private static bool KnownDifference(string text) =>
        text.Contains("\\n\"", StringComparison.Ordinal) ||
        text.Contains("1.00000000000000000000000000000001", StringComparison.Ordinal) ||
        text.Contains("1e-400", StringComparison.Ordinal);

    private static bool Compare(string schema, string text, string name, List<string> mismatches, Action? countInvalid = null, Action? knownDifferences = null)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (JsonException) { return false; }
        using (doc)
        {
            var (valid, pointers) = SchemaTestData.ReferenceVerdict(schema, doc.RootElement);
            var ours = SchemaValidator.Validate(schema, doc.RootElement);
            if (!valid) countInvalid?.Invoke();
            if (valid != (ours.Count == 0) && KnownDifference(text))
                knownDifferences?.Invoke();
            else if (valid != (ours.Count == 0))
                mismatches.Add($"{name}: reference {(valid ? "accepts" : "rejects at " + string.Join(", ", pointers))}; runcs {(ours.Count == 0 ? "accepts" : "rejects: " + string.Join("; ", ours))}\n    {Shorten(text)}");
            else if (!valid && !pointers.Contains(ours[0].Pointer) && KnownDifference(text))
                knownDifferences?.Invoke();
            else if (!valid && !pointers.Contains(ours[0].Pointer))
                mismatches.Add($"{name}: first error {ours[0]} is not among the reference's {string.Join(", ", pointers)}\n    {Shorten(text)}");
            return true;
        }
    }

    private static string Shorten(string s) => s.Length <= 400 ? s : s[..400] + "...";

    // ---- mutations -----------------------------------------------------------------------------

    private static readonly string[] Values =
    [
        // numbers at and around every bound the schemas use, integers written as non-integers, huge and tiny
        "0", "-0", "1", "-1", "1.0", "1.5", "-1.0", "1e2", "1E+2", "1e-2", "10e-1", "0.0", "255", "256", "511", "512",
        "65535", "65536", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "4294967295.0", "4294967295.5", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "18446744073709551615.0",
        "1844674407370955161.5e1", "1.8446744073709551615e19", "1.8446744073709551616e19", "1e19", "1e20",
        "0.00000000000000000000000000000001", "1.00000000000000000000000000000001", "1e400", "-1e400", "1e-400",
        // strings: enum members and near misses, pattern matches and breakers
        "\"\"", "\"x\"", "\"2MB\"", "\"2M\"", "\"1GB\"", "\"02MB\"", "\"RLIMIT_NOFILE\"", "\"rlimit_nofile\"",
        "\"CAP_SYS_ADMIN\"", "\"cap_sys_admin\"", "\"c\"", "\"cb\"", "\"u\"", "\"MB:0=100\"", "\"MB:0=1;1=2\"",
        "\"0-3,7\"", "\"0-3;7\"", "\"pid\"", "\"PID\"", "\"network\"", "\"net\"", "\"SCMP_ACT_ALLOW\"", "\"SCMP_ACT_allow\"",
        "\"SCMP_CMP_EQ\"", "\"SCMP_ARCH_X86_64\"", "\"SECCOMP_FILTER_FLAG_LOG\"", "\"created\"", "\"running\"",
        "\"stopped\"", "\"paused\"", "\"MPOL_BIND\"", "\"MPOL_F_STATIC_NODES\"", "\"LINUX\"", "\"private\"", "\"rprivate\"",
        "\"IOPRIO_CLASS_RT\"", "\"SCHED_FIFO\"", "\"SCHED_FLAG_RECLAIM\"", "\"new\"", "\"inherit\"", "\"\\u00e9t\\u00e9\"",
        "\"\\u0070id\"", "\"a/b~c\"", "\"1.3.0\"",
        // other kinds
        "null", "true", "false", "{}", "[]", "[\"x\"]", "[1]", "[null]", "{\"\":\"v\"}", "{\"a\":1}", "{\"a\":\"b\"}",
        "[{}]", "[{\"type\":\"pid\"}]",
    ];

    private static readonly Lazy<string[]> PropertyNames = new(() =>
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { "", "x-unknown", "a/b~c" };
        foreach (var file in Directory.GetFiles(Path.Combine(SchemaTestData.RepoRoot, "specs"), "*.json"))
            CollectPropertyNames(JsonNode.Parse(File.ReadAllText(file)), names);
        return names.Order(StringComparer.Ordinal).ToArray();
    });

    private static void CollectPropertyNames(JsonNode? node, HashSet<string> into)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "properties" && value is JsonObject props)
                        foreach (var (name, _) in props) into.Add(name);
                    if (key == "required" && value is JsonArray required)
                        foreach (var name in required) into.Add(name!.GetValue<string>());
                    CollectPropertyNames(value, into);
                }
                break;
            case JsonArray arr:
                foreach (var item in arr) CollectPropertyNames(item, into);
                break;
        }
    }

    private static JsonNode RandomValue(Random random)
    {
        var roll = random.Next(40);
        if (roll == 0) return Deep(random, 30 + random.Next(30));
        return JsonNode.Parse(Values[random.Next(Values.Length)])!;
    }

    private static JsonNode Deep(Random random, int depth)
    {
        JsonNode node = JsonValue.Create("leaf");
        for (var i = 0; i < depth; i++)
            node = random.Next(2) == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        return node;
    }

    private static string MutateString(string s, Random random) => random.Next(7) switch
    {
        0 => s.ToLowerInvariant(),
        1 => s + "\n",
        2 => s + "X",
        3 => "",
        4 => s.Length > 1 ? s[..^1] : s + s,
        5 => " " + s,
        _ => s.ToUpperInvariant(),
    };

    private static void Slots(JsonNode? node, List<JsonNode> containers)
    {
        switch (node)
        {
            case JsonObject obj:
                containers.Add(obj);
                foreach (var (_, value) in obj) Slots(value, containers);
                break;
            case JsonArray arr:
                containers.Add(arr);
                foreach (var item in arr) Slots(item, containers);
                break;
        }
    }

    /// <summary>One random change somewhere in the document; returns the (possibly replaced) root.</summary>
    private static JsonNode? Mutate(JsonNode? root, Random random, StringBuilder what)
    {
        if (root is null || random.Next(200) == 0)
        {
            what.Append(" root=value");
            return RandomValue(random);
        }
        var containers = new List<JsonNode>();
        Slots(root, containers);
        if (containers.Count == 0) return RandomValue(random);
        var container = containers[random.Next(containers.Count)];
        var where = container.GetPath();
        if (container is JsonObject obj)
        {
            var keys = obj.Select(p => p.Key).ToList();
            var op = keys.Count == 0 ? 0 : random.Next(5);
            switch (op)
            {
                case 0: // add a (usually known) property
                {
                    var name = PropertyNames.Value[random.Next(PropertyNames.Value.Length)];
                    obj[name] = RandomValue(random);
                    what.Append($" add {where}.{name}");
                    break;
                }
                case 1: // remove a property
                {
                    var key = keys[random.Next(keys.Count)];
                    obj.Remove(key);
                    what.Append($" remove {where}.{key}");
                    break;
                }
                case 2: // replace a value of a different type or out of range
                {
                    var key = keys[random.Next(keys.Count)];
                    obj[key] = RandomValue(random);
                    what.Append($" replace {where}.{key}");
                    break;
                }
                default: // break a string, flip a number or boolean, null it
                {
                    var key = keys[random.Next(keys.Count)];
                    obj[key] = Perturb(obj[key], random);
                    what.Append($" perturb {where}.{key}");
                    break;
                }
            }
        }
        else if (container is JsonArray arr)
        {
            var op = arr.Count == 0 ? 0 : random.Next(4);
            switch (op)
            {
                case 0:
                    arr.Add(arr.Count > 0 && random.Next(2) == 0 ? Perturb(arr[random.Next(arr.Count)]?.DeepClone(), random) : RandomValue(random));
                    what.Append($" append {where}");
                    break;
                case 1:
                    arr.RemoveAt(random.Next(arr.Count));
                    what.Append($" removeAt {where}");
                    break;
                case 2:
                    arr.Clear();
                    what.Append($" clear {where}");
                    break;
                default:
                {
                    var i = random.Next(arr.Count);
                    arr[i] = random.Next(2) == 0 ? RandomValue(random) : Perturb(arr[i], random);
                    what.Append($" change {where}[{i}]");
                    break;
                }
            }
        }
        return root;
    }

    private static JsonNode? Perturb(JsonNode? node, Random random)
    {
        if (random.Next(8) == 0) return null;
        if (node is not JsonValue value) return RandomValue(random);
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                return JsonValue.Create(MutateString(value.GetValue<string>(), random));
            case JsonValueKind.Number:
            {
                var raw = value.ToJsonString();
                return random.Next(4) switch
                {
                    0 => JsonNode.Parse(raw.StartsWith('-') ? raw[1..] : "-" + raw),
                    1 => JsonNode.Parse(raw.Contains('.') || raw.Contains('e') || raw.Contains('E') ? raw : raw + ".0"),
                    2 => raw.Contains('e') || raw.Contains('E') ? RandomValue(random) : JsonNode.Parse(raw + "e1"),
                    _ => JsonValue.Create(raw),
                };
            }
            case JsonValueKind.True or JsonValueKind.False:
                return random.Next(2) == 0 ? JsonValue.Create(value.GetValueKind() == JsonValueKind.False) : JsonValue.Create(1);
            default:
                return RandomValue(random);
        }
    }
}
