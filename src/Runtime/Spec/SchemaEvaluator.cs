// A small JSON Schema (draft 2020-12) evaluator for runcs's own schemas (specs/*.json).
//
// It implements exactly the keywords those files use and refuses any other one when a schema object
// is compiled (InvalidOperationException naming the keyword and its location), so a schema edit that
// relies on a keyword this evaluator does not know fails the tests instead of being silently ignored.
// Supported: $schema $id (document root only) $ref $defs $comment title description type properties
// additionalProperties propertyNames required items minItems minLength enum pattern minimum maximum
// if then.
//
// Schema documents are the embedded resources "specs/<name>.json"; each is parsed on first use and
// kept alive (the compiled nodes point into it). A root is compiled on first use together with
// everything it reaches through $ref; nodes are shared by (document, JSON pointer).
//
// Evaluation walks a JsonElement. The first pass only answers valid/invalid, stops at the first
// failure and allocates nothing for a valid document (numbers are compared on their raw text, strings
// through their raw UTF-8); only an invalid document is walked again to collect every error with the
// JSON pointer of the offending value.

using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Runcs.Spec;

/// <summary>One failed keyword, before it is turned into a <see cref="SchemaError"/>.</summary>
internal readonly record struct SchemaFailure(string Pointer, string Keyword, string Message);

internal static class SchemaEvaluator
{
    public const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>The embedded schema file names, without parsing anything.</summary>
    public static IReadOnlyCollection<string> Names => LazyNames.Value;

    private static readonly Lazy<string[]> LazyNames = new(() =>
    {
        var names = new List<string>();
        foreach (var resource in typeof(SchemaEvaluator).Assembly.GetManifestResourceNames())
            if (resource.StartsWith("specs/", StringComparison.Ordinal) && resource.EndsWith(".json", StringComparison.Ordinal))
                names.Add(resource["specs/".Length..]);
        names.Sort(StringComparer.Ordinal);
        return names.ToArray();
    });

    // ---- documents and compilation -------------------------------------------------------------

    private static readonly object Gate = new();
    private static readonly Dictionary<string, JsonDocument> Documents = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, SchemaNode> Nodes = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, SchemaNode> Roots = new(StringComparer.Ordinal);

    /// <summary>The compiled root of an embedded schema, or null when there is no such file.</summary>
    public static SchemaNode? Root(string name)
    {
        lock (Gate)
        {
            if (Roots.TryGetValue(name, out var root)) return root;
            if (Document(name) is not { } doc) return null;
            root = Compile(name, "", doc.RootElement);
            Fill(root);
            Roots[name] = root;
            return root;
        }
    }

    /// <summary>Compiles every root and every $defs entry of every embedded schema (for tests: proves
    /// that all keywords are known and all $refs resolve). Returns the number of schema objects.</summary>
    public static int CompileAll()
    {
        lock (Gate)
        {
            foreach (var name in Names)
            {
                var doc = Document(name)!;
                Roots[name] = Compile(name, "", doc.RootElement);
                if (doc.RootElement.TryGetProperty("$defs", out var defs))
                    foreach (var def in defs.EnumerateObject())
                        Compile(name, "/$defs/" + EscapeToken(def.Name), def.Value);
            }
            // Filling a node mentions its children: fill until nothing is left unfilled.
            while (Nodes.Values.FirstOrDefault(n => !n.Compiled) is { } pending) Fill(pending);
            return Nodes.Count;
        }
    }

    private static JsonDocument? Document(string name)
    {
        if (Documents.TryGetValue(name, out var doc)) return doc;
        byte[] bytes;
        using (var stream = typeof(SchemaEvaluator).Assembly.GetManifestResourceStream("specs/" + name))
        {
            if (stream is null) return null;
            // One exact-size copy, parsed in place (Parse(Stream) would grow pooled buffers instead).
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        doc = JsonDocument.Parse(bytes);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"schema {name} is not an object");
        if (!root.TryGetProperty("$schema", out var dialect) || dialect.ValueKind != JsonValueKind.String || !dialect.ValueEquals(Draft202012))
            throw new InvalidOperationException($"schema {name}: $schema must be {Draft202012}");
        if (root.TryGetProperty("$id", out var id) && !(id.ValueKind == JsonValueKind.String && id.ValueEquals(SchemaValidator.BaseUri + name)))
            throw new InvalidOperationException($"schema {name}: $id must be {SchemaValidator.BaseUri + name}");
        Documents[name] = doc;
        return doc;
    }

    /// <summary>
    /// The node of a schema object, created on first mention and filled (<see cref="Fill"/>) only
    /// when an evaluation reaches it: a config touches a fraction of the schemas (no windows, vm or
    /// solaris parts, few resources), and compiling all of them was most of validation's cost.
    /// </summary>
    private static SchemaNode Compile(string docName, string pointer, JsonElement schema)
    {
        var key = docName + "#" + pointer;
        if (Nodes.TryGetValue(key, out var node)) return node;
        node = new SchemaNode(key) { DocName = docName, Pointer = pointer, Source = schema };
        Nodes[key] = node; // before the children: a $ref cycle finds this node
        return node;
    }

    private static void Ensure(SchemaNode node)
    {
        lock (Gate) if (!node.Compiled) Fill(node);
    }

    private static void Fill(SchemaNode node)
    {
        string docName = node.DocName, pointer = node.Pointer, key = node.Location;
        var schema = node.Source;
        if (schema.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"schema {key}: a schema must be an object here (boolean schemas are not supported)");

        foreach (var keyword in schema.EnumerateObject())
        {
            var value = keyword.Value;
            switch (keyword.Name)
            {
                case "$schema" or "$id":
                    if (pointer.Length != 0) throw Unsupported(key, keyword.Name + " below the document root");
                    break;
                case "$defs":
                    Expect(key, keyword.Name, value, JsonValueKind.Object);
                    break; // compiled when referenced
                case "$comment" or "title" or "description":
                    break;
                case "$ref":
                    Expect(key, keyword.Name, value, JsonValueKind.String);
                    node.Ref = Reference(docName, key, value.GetString()!);
                    break;
                case "type":
                    node.Types = ParseTypes(key, value);
                    node.TypeRule = value;
                    break;
                case "properties":
                {
                    Expect(key, keyword.Name, value, JsonValueKind.Object);
                    var list = new List<PropertySchema>();
                    foreach (var p in value.EnumerateObject())
                        list.Add(new PropertySchema(p.Name, Encoding.UTF8.GetBytes(p.Name), Compile(docName, pointer + "/properties/" + EscapeToken(p.Name), p.Value)));
                    node.Properties = list.ToArray();
                    break;
                }
                case "additionalProperties":
                    node.AdditionalProperties = Compile(docName, pointer + "/" + keyword.Name, value);
                    break;
                case "propertyNames":
                    node.PropertyNames = Compile(docName, pointer + "/" + keyword.Name, value);
                    break;
                case "items":
                    node.Items = Compile(docName, pointer + "/" + keyword.Name, value);
                    break;
                case "if":
                    node.If = Compile(docName, pointer + "/" + keyword.Name, value);
                    break;
                case "then":
                    node.Then = Compile(docName, pointer + "/" + keyword.Name, value);
                    break;
                case "required":
                {
                    Expect(key, keyword.Name, value, JsonValueKind.Array);
                    var names = new List<string>();
                    foreach (var r in value.EnumerateArray())
                    {
                        if (r.ValueKind != JsonValueKind.String) throw Unsupported(key, "a non-string in required");
                        names.Add(r.GetString()!);
                    }
                    node.Required = names.ToArray();
                    node.RequiredUtf8 = names.ConvertAll(Encoding.UTF8.GetBytes).ToArray();
                    break;
                }
                case "minItems":
                    node.MinItems = NonNegative(key, keyword.Name, value);
                    node.MinItemsRule = value;
                    break;
                case "minLength":
                    node.MinLength = NonNegative(key, keyword.Name, value);
                    node.MinLengthRule = value;
                    break;
                case "enum":
                {
                    Expect(key, keyword.Name, value, JsonValueKind.Array);
                    var strings = new List<byte[]>();
                    var allStrings = true;
                    foreach (var e in value.EnumerateArray())
                    {
                        if (e.ValueKind == JsonValueKind.String) strings.Add(Encoding.UTF8.GetBytes(e.GetString()!));
                        else allStrings = false;
                    }
                    node.HasEnum = true;
                    node.EnumRule = value;
                    node.EnumStrings = allStrings ? strings.ToArray() : null;
                    break;
                }
                case "pattern":
                    Expect(key, keyword.Name, value, JsonValueKind.String);
                    node.Pattern = new LazyPattern(value.GetString()!);
                    node.PatternRule = value;
                    break;
                case "minimum":
                    Expect(key, keyword.Name, value, JsonValueKind.Number);
                    node.Minimum = ExactNumber.Parse(JsonMarshal.GetRawUtf8Value(value));
                    node.MinimumRule = value;
                    break;
                case "maximum":
                    Expect(key, keyword.Name, value, JsonValueKind.Number);
                    node.Maximum = ExactNumber.Parse(JsonMarshal.GetRawUtf8Value(value));
                    node.MaximumRule = value;
                    break;
                default:
                    throw Unsupported(key, "keyword " + keyword.Name);
            }
        }
        if (node.Then is not null && node.If is null)
            throw Unsupported(key, "then without if");
        node.Compiled = true;
    }

    private static SchemaNode Reference(string docName, string key, string reference)
    {
        var hash = reference.IndexOf('#');
        var target = hash < 0 ? reference : reference[..hash];
        var fragment = hash < 0 ? "" : Uri.UnescapeDataString(reference[(hash + 1)..]);
        var targetDoc = docName;
        if (target.Length != 0)
        {
            // Every schema sits directly under BaseUri: a reference is a sibling's file name or its $id.
            if (target.StartsWith(SchemaValidator.BaseUri, StringComparison.Ordinal)) target = target[SchemaValidator.BaseUri.Length..];
            if (target.AsSpan().IndexOfAny(":/\\?%") >= 0 || target is "." or "..")
                throw Unsupported(key, $"$ref {reference} outside {SchemaValidator.BaseUri}");
            targetDoc = target;
        }
        if (fragment.Length != 0 && fragment[0] != '/')
            throw Unsupported(key, $"$ref {reference} with a plain-name fragment");
        var doc = Document(targetDoc) ?? throw new InvalidOperationException($"schema {key}: $ref {reference} names no embedded schema");
        var element = doc.RootElement;
        if (fragment.Length != 0)
        {
            foreach (var raw in fragment[1..].Split('/'))
            {
                var token = raw.Replace("~1", "/").Replace("~0", "~");
                if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(token, out var child)) element = child;
                else if (element.ValueKind == JsonValueKind.Array && int.TryParse(token, out var i) && i >= 0 && i < element.GetArrayLength()) element = element[i];
                else throw new InvalidOperationException($"schema {key}: $ref {reference} does not resolve");
            }
        }
        return Compile(targetDoc, fragment, element);
    }

    private static TypeMask ParseTypes(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String) return One(value.GetString()!);
        if (value.ValueKind != JsonValueKind.Array) throw Unsupported(key, "type that is neither a string nor an array");
        TypeMask mask = 0;
        foreach (var t in value.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.String) throw Unsupported(key, "a non-string in type");
            mask |= One(t.GetString()!);
        }
        return mask;

        TypeMask One(string name) => name switch
        {
            "null" => TypeMask.Null,
            "boolean" => TypeMask.Boolean,
            "object" => TypeMask.Object,
            "array" => TypeMask.Array,
            "number" => TypeMask.Number,
            "string" => TypeMask.String,
            "integer" => TypeMask.Integer,
            _ => throw Unsupported(key, "type " + name),
        };
    }

    private static int NonNegative(string key, string keyword, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var n) || n < 0)
            throw Unsupported(key, keyword + " that is not a small non-negative integer");
        return n;
    }

    private static void Expect(string key, string keyword, JsonElement value, JsonValueKind kind)
    {
        if (value.ValueKind != kind) throw Unsupported(key, $"{keyword} that is not {kind}");
    }

    private static InvalidOperationException Unsupported(string key, string what) =>
        new($"schema {key}: {what} is not supported by runcs's schema evaluator (src/Runtime/Spec/SchemaEvaluator.cs)");

    internal static string EscapeToken(string token) =>
        token.Contains('~') || token.Contains('/') ? token.Replace("~", "~0").Replace("/", "~1") : token;

    // ---- evaluation ----------------------------------------------------------------------------

    /// <summary>True when the document is valid. Allocates nothing for a valid document (patterns
    /// aside, which compile once).</summary>
    public static bool IsValid(SchemaNode root, JsonElement document) =>
        Evaluate(root, new Instance(document), null, null);

    /// <summary>Every failure, in evaluation order (failing "if" conditions are not failures).</summary>
    public static List<SchemaFailure> Failures(SchemaNode root, JsonElement document)
    {
        var failures = new List<SchemaFailure>();
        Evaluate(root, new Instance(document), new Path(null, null, -1), failures);
        return failures;
    }

    /// <summary>The value being evaluated: a JSON value, or a property name (for propertyNames).</summary>
    private readonly struct Instance
    {
        public readonly JsonElement Element;
        public readonly JsonProperty Property;
        public readonly bool IsName;

        public Instance(JsonElement element) { Element = element; IsName = false; }
        public Instance(JsonProperty property) { Property = property; IsName = true; }

        public JsonValueKind Kind => IsName ? JsonValueKind.String : Element.ValueKind;
    }

    /// <summary>The JSON pointer of the current value, built only while collecting failures.</summary>
    private sealed class Path(Path? parent, string? name, int index)
    {
        public override string ToString()
        {
            if (parent is null) return "";
            var sb = new StringBuilder();
            Append(sb);
            return sb.ToString();
        }

        private void Append(StringBuilder sb)
        {
            if (parent is null) return;
            parent.Append(sb);
            sb.Append('/');
            if (name is null) sb.Append(index);
            else sb.Append(EscapeToken(name));
        }

        public Path Child(string child) => new(this, child, -1);
        public Path Child(int i) => new(this, null, i);
    }

    // With failures == null: answers as soon as something fails. Otherwise evaluates everything and
    // records each failing keyword with the pointer of its value.
    private static bool Evaluate(SchemaNode node, Instance value, Path? path, List<SchemaFailure>? failures)
    {
        if (!node.Compiled) Ensure(node);
        var valid = true;
        var kind = value.Kind;

        if (node.Types != 0 && !HasType(node.Types, value, kind))
        {
            if (failures is null) return false;
            Fail(failures, path!, "type", $"expected {TypeList(node.TypeRule)}, got {Render(value)}");
            valid = false;
        }

        if (node.Ref is { } target && !Evaluate(target, value, path, failures))
        {
            if (failures is null) return false;
            valid = false;
        }

        if (node.HasEnum && !InEnum(node, value))
        {
            if (failures is null) return false;
            Fail(failures, path!, "enum", $"{Subject(value)} {Quote(value)} is not one of {EnumList(node.EnumRule)}");
            valid = false;
        }

        switch (kind)
        {
            case JsonValueKind.String:
                if (node.MinLength > 0 && !HasMinLength(value, node.MinLength))
                {
                    if (failures is null) return false;
                    Fail(failures, path!, "minLength", $"{Subject(value)} {Quote(value)} must have at least {node.MinLengthRule.GetRawText()} character(s)");
                    valid = false;
                }
                if (node.Pattern is { } pattern && !Matches(pattern, value))
                {
                    if (failures is null) return false;
                    Fail(failures, path!, "pattern", $"{Subject(value)} {Quote(value)} does not match the pattern {node.PatternRule.GetString()}");
                    valid = false;
                }
                break;

            case JsonValueKind.Number:
                if (node.Minimum is { } min || node.Maximum is not null)
                {
                    var raw = JsonMarshal.GetRawUtf8Value(value.Element);
                    if (node.Minimum is { } lo && ExactNumber.Compare(raw, lo) < 0)
                    {
                        if (failures is null) return false;
                        Fail(failures, path!, "minimum", $"{Subject(value)} {Quote(value)} is less than the minimum {node.MinimumRule.GetRawText()}");
                        valid = false;
                    }
                    if (node.Maximum is { } hi && ExactNumber.Compare(raw, hi) > 0)
                    {
                        if (failures is null) return false;
                        Fail(failures, path!, "maximum", $"{Subject(value)} {Quote(value)} is greater than the maximum {node.MaximumRule.GetRawText()}");
                        valid = false;
                    }
                }
                break;

            case JsonValueKind.Array:
                if (node.MinItems > 0)
                {
                    var count = value.Element.GetArrayLength();
                    if (count < node.MinItems)
                    {
                        if (failures is null) return false;
                        Fail(failures, path!, "minItems", $"array needs at least {node.MinItemsRule.GetRawText()} item(s), has {count}");
                        valid = false;
                    }
                }
                if (node.Items is { } items)
                {
                    var i = 0;
                    foreach (var item in value.Element.EnumerateArray())
                    {
                        if (!Evaluate(items, new Instance(item), path?.Child(i), failures))
                        {
                            if (failures is null) return false;
                            valid = false;
                        }
                        i++;
                    }
                }
                break;

            case JsonValueKind.Object when !value.IsName:
                if (node.Required is { } required)
                {
                    for (var r = 0; r < required.Length; r++)
                    {
                        if (value.Element.TryGetProperty(node.RequiredUtf8![r], out _)) continue;
                        if (failures is null) return false;
                        Fail(failures, path!, "required", $"required property \"{required[r]}\" is missing");
                        valid = false;
                    }
                }
                if (node.Properties is not null || node.AdditionalProperties is not null || node.PropertyNames is not null)
                {
                    foreach (var property in value.Element.EnumerateObject())
                    {
                        var childPath = failures is null ? null : path!.Child(property.Name);
                        if (node.PropertyNames is { } names && !Evaluate(names, new Instance(property), childPath, failures))
                        {
                            if (failures is null) return false;
                            valid = false;
                        }
                        var schema = node.Properties is null ? null : FindProperty(node.Properties, property);
                        schema ??= node.AdditionalProperties;
                        if (schema is not null && !Evaluate(schema, new Instance(property.Value), childPath, failures))
                        {
                            if (failures is null) return false;
                            valid = false;
                        }
                    }
                }
                break;
        }

        // The condition is evaluated without collecting: a failing "if" only means "then" does not apply.
        if (node.If is { } condition && node.Then is { } consequence && Evaluate(condition, value, null, null) &&
            !Evaluate(consequence, value, path, failures))
        {
            if (failures is null) return false;
            valid = false;
        }
        return valid;
    }

    private static void Fail(List<SchemaFailure> failures, Path path, string keyword, string message) =>
        failures.Add(new SchemaFailure(path.ToString(), keyword, message));

    private static SchemaNode? FindProperty(PropertySchema[] properties, JsonProperty property)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.IndexOf((byte)'\\') < 0)
        {
            foreach (var p in properties)
                if (raw.SequenceEqual(p.Utf8)) return p.Schema;
            return null;
        }
        foreach (var p in properties)
            if (property.NameEquals(p.Utf8)) return p.Schema;
        return null;
    }

    private static bool HasType(TypeMask types, Instance value, JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => (types & TypeMask.Object) != 0,
        JsonValueKind.Array => (types & TypeMask.Array) != 0,
        JsonValueKind.String => (types & TypeMask.String) != 0,
        JsonValueKind.True or JsonValueKind.False => (types & TypeMask.Boolean) != 0,
        JsonValueKind.Null => (types & TypeMask.Null) != 0,
        JsonValueKind.Number => (types & TypeMask.Number) != 0 ||
            ((types & TypeMask.Integer) != 0 && ExactNumber.IsInteger(JsonMarshal.GetRawUtf8Value(value.Element))),
        _ => false,
    };

    private static bool InEnum(SchemaNode node, Instance value)
    {
        if (value.IsName)
        {
            foreach (var e in node.EnumRule.EnumerateArray())
                if (e.ValueKind == JsonValueKind.String && value.Property.NameEquals(e.GetString()!)) return true;
            return false;
        }
        if (node.EnumStrings is { } strings)
        {
            if (value.Element.ValueKind != JsonValueKind.String) return false;
            foreach (var s in strings)
                if (value.Element.ValueEquals(s)) return true;
            return false;
        }
        foreach (var e in node.EnumRule.EnumerateArray())
            if (JsonElement.DeepEquals(e, value.Element)) return true;
        return false;
    }

    // minLength counts Unicode code points.
    private static bool HasMinLength(Instance value, int min)
    {
        ReadOnlySpan<byte> raw = value.IsName
            ? JsonMarshal.GetRawUtf8PropertyName(value.Property)
            : Unquote(JsonMarshal.GetRawUtf8Value(value.Element));
        if (raw.IndexOf((byte)'\\') < 0)
        {
            if (raw.Length < min) return false; // a code point takes at least one byte
            var count = 0;
            foreach (var b in raw)
                if ((b & 0xC0) != 0x80 && ++count >= min) return true;
            return count >= min;
        }
        var text = value.IsName ? value.Property.Name : value.Element.GetString()!;
        var points = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            points++;
        }
        return points >= min;
    }

    private static bool Matches(LazyPattern pattern, Instance value)
    {
        ReadOnlySpan<byte> raw = value.IsName
            ? JsonMarshal.GetRawUtf8PropertyName(value.Property)
            : Unquote(JsonMarshal.GetRawUtf8Value(value.Element));
        var regex = pattern.Regex;
        if (raw.IndexOf((byte)'\\') >= 0)
            return regex.IsMatch(value.IsName ? value.Property.Name : value.Element.GetString()!);
        char[]? rented = null;
        Span<char> chars = raw.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(raw.Length));
        try
        {
            var n = Encoding.UTF8.GetChars(raw, chars);
            return regex.IsMatch(chars[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    private static ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> raw) =>
        raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;

    // ---- messages ------------------------------------------------------------------------------

    private static string Subject(Instance value) => value.IsName ? "property name" : "value";

    private static string TypeList(JsonElement rule)
    {
        if (rule.ValueKind != JsonValueKind.Array) return Bare(rule);
        var sb = new StringBuilder();
        foreach (var t in rule.EnumerateArray())
        {
            if (sb.Length > 0) sb.Append(" or ");
            sb.Append(Bare(t));
        }
        return sb.ToString();
    }

    private static string EnumList(JsonElement rule)
    {
        var sb = new StringBuilder();
        foreach (var e in rule.EnumerateArray())
        {
            if (sb.Length > 0) sb.Append(", ");
            sb.Append(Bare(e));
        }
        return sb.ToString();
    }

    private static string Bare(JsonElement element) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();

    private static string Quote(Instance value)
    {
        if (value.IsName) return Shorten("\"" + Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8PropertyName(value.Property)) + "\"");
        var v = value.Element;
        return v.ValueKind switch
        {
            JsonValueKind.Object => "{...}",
            JsonValueKind.Array => "[...]",
            JsonValueKind.String => Shorten(v.GetRawText()),
            _ => v.GetRawText(),
        };
    }

    private static string Render(Instance value)
    {
        if (value.IsName) return "string " + Quote(value);
        var v = value.Element;
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
        return json.Length <= Max ? json : string.Concat(json.AsSpan(0, Max - 1), "...\"");
    }
}

[Flags]
internal enum TypeMask : byte
{
    Null = 1, Boolean = 2, Object = 4, Array = 8, Number = 16, String = 32, Integer = 64,
}

internal readonly record struct PropertySchema(string Name, byte[] Utf8, SchemaNode Schema);

/// <summary>One compiled schema object. Fields are set once, while compiling.</summary>
internal sealed class SchemaNode(string location)
{
    /// <summary>"file.json#/json/pointer" of the schema object, for diagnostics.</summary>
    public readonly string Location = location;
    /// <summary>Where the schema object is, until <see cref="Compiled"/>.</summary>
    public string DocName = "", Pointer = "";
    public JsonElement Source;
    public volatile bool Compiled;
    public SchemaNode? Ref;
    public TypeMask Types;
    public JsonElement TypeRule;
    public PropertySchema[]? Properties;
    public SchemaNode? AdditionalProperties;
    public SchemaNode? PropertyNames;
    public string[]? Required;
    public byte[][]? RequiredUtf8;
    public SchemaNode? Items;
    public int MinItems = -1;
    public JsonElement MinItemsRule;
    public int MinLength = -1;
    public JsonElement MinLengthRule;
    public bool HasEnum;
    public JsonElement EnumRule;
    public byte[][]? EnumStrings;
    public LazyPattern? Pattern;
    public JsonElement PatternRule;
    public ExactNumber? Minimum;
    public JsonElement MinimumRule;
    public ExactNumber? Maximum;
    public JsonElement MaximumRule;
    public SchemaNode? If;
    public SchemaNode? Then;

    public override string ToString() => Location;
}

/// <summary>An ECMA-262 "pattern", compiled to a .NET Regex on first use. Unanchored, as JSON Schema
/// says. ECMA-262's "$" (no multiline flag) matches only at the very end, where .NET's also matches
/// before a final "\n": unescaped "$" outside a character class is rewritten to "\z".</summary>
internal sealed class LazyPattern(string pattern)
{
    private Regex? _regex;
    public string Source => pattern;
    public Regex Regex => _regex ??= new Regex(Translate(pattern), RegexOptions.CultureInvariant);

    internal static string Translate(string ecma)
    {
        var sb = new StringBuilder(ecma.Length + 4);
        var inClass = false;
        for (var i = 0; i < ecma.Length; i++)
        {
            var c = ecma[i];
            if (c == '\\' && i + 1 < ecma.Length)
            {
                // \d \w \s are ASCII-only in ECMA-262 (without the u flag); .NET's are Unicode-aware.
                var next = ecma[i + 1];
                var ascii = next switch
                {
                    'd' => "0-9", 'D' => "^0-9", 'w' => "a-zA-Z0-9_", 'W' => "^a-zA-Z0-9_", _ => null,
                };
                if (ascii is not null)
                {
                    if (inClass)
                    {
                        if (ascii[0] == '^') throw new InvalidOperationException($"pattern {ecma}: negated class escape inside a class is not supported");
                        sb.Append(ascii);
                    }
                    else sb.Append('[').Append(ascii).Append(']');
                }
                else sb.Append(c).Append(next);
                i++;
                continue;
            }
            if (inClass)
            {
                if (c == ']') inClass = false;
                sb.Append(c);
                continue;
            }
            if (c == '[')
            {
                inClass = true;
                sb.Append(c);
                // A "]" right after "[" or "[^" is a literal in .NET but ends an empty class in ECMA-262.
                if (i + 1 < ecma.Length && ecma[i + 1] == '^') { sb.Append('^'); i++; }
                if (i + 1 < ecma.Length && ecma[i + 1] == ']')
                    throw new InvalidOperationException($"pattern {ecma}: an empty character class is not supported");
                continue;
            }
            if (c == '$') { sb.Append(@"\z"); continue; }
            sb.Append(c);
        }
        return sb.ToString();
    }
}

/// <summary>A JSON number kept exactly: sign, significant decimal digits (no leading or trailing
/// zeros) and a power of ten. Integers and bounds of any size compare without rounding.</summary>
internal sealed class ExactNumber
{
    public bool Negative;
    public byte[] Digits = [];
    public long Exponent; // value = digits × 10^Exponent

    public static ExactNumber Parse(ReadOnlySpan<byte> raw)
    {
        Span<byte> buffer = raw.Length <= 128 ? stackalloc byte[128] : new byte[raw.Length];
        Normalize(raw, buffer, out var negative, out var length, out var exponent);
        return new ExactNumber { Negative = negative, Digits = buffer[..length].ToArray(), Exponent = exponent };
    }

    public static bool IsInteger(ReadOnlySpan<byte> raw)
    {
        // Fast path: no fraction and no exponent.
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0) return true;
        Span<byte> buffer = raw.Length <= 128 ? stackalloc byte[128] : new byte[raw.Length];
        Normalize(raw, buffer, out _, out var length, out var exponent);
        return length == 0 || exponent >= 0;
    }

    /// <summary>Sign of (raw − bound).</summary>
    public static int Compare(ReadOnlySpan<byte> raw, ExactNumber bound)
    {
        Span<byte> buffer = raw.Length <= 128 ? stackalloc byte[128] : new byte[raw.Length];
        Normalize(raw, buffer, out var negative, out var length, out var exponent);
        return Compare(negative, buffer[..length], exponent, bound.Negative, bound.Digits, bound.Exponent);
    }

    private static int Compare(bool aNeg, ReadOnlySpan<byte> a, long aExp, bool bNeg, ReadOnlySpan<byte> b, long bExp)
    {
        var aSign = a.Length == 0 ? 0 : aNeg ? -1 : 1;
        var bSign = b.Length == 0 ? 0 : bNeg ? -1 : 1;
        if (aSign != bSign) return aSign < bSign ? -1 : 1;
        if (aSign == 0) return 0;
        var magnitude = CompareMagnitude(a, aExp, b, bExp);
        return aSign > 0 ? magnitude : -magnitude;
    }

    private static int CompareMagnitude(ReadOnlySpan<byte> a, long aExp, ReadOnlySpan<byte> b, long bExp)
    {
        // Position of the leading digit decides first, then the digits themselves.
        var aTop = a.Length + aExp;
        var bTop = b.Length + bExp;
        if (aTop != bTop) return aTop < bTop ? -1 : 1;
        var common = Math.Min(a.Length, b.Length);
        for (var i = 0; i < common; i++)
            if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
        return a.Length.CompareTo(b.Length); // no trailing zeros: more digits is larger
    }

    // JSON number text (already validated by the parser) to sign, significant digits and exponent.
    private static void Normalize(ReadOnlySpan<byte> raw, Span<byte> digits, out bool negative, out int length, out long exponent)
    {
        var i = 0;
        negative = raw.Length > 0 && raw[0] == (byte)'-';
        if (negative) i++;
        length = 0;
        long fraction = 0;
        var inFraction = false;
        for (; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == (byte)'.') { inFraction = true; continue; }
            if (c is < (byte)'0' or > (byte)'9') break;
            if (length == 0 && c == (byte)'0') { if (inFraction) fraction++; continue; } // leading zero
            digits[length++] = c;
            if (inFraction) fraction++;
        }
        long exp = 0;
        if (i < raw.Length && (raw[i] == (byte)'e' || raw[i] == (byte)'E'))
        {
            i++;
            var expNegative = false;
            if (i < raw.Length && (raw[i] == (byte)'+' || raw[i] == (byte)'-')) { expNegative = raw[i] == (byte)'-'; i++; }
            for (; i < raw.Length; i++)
            {
                var c = raw[i];
                if (c is < (byte)'0' or > (byte)'9') break;
                if (exp < 1_000_000_000_000L) exp = exp * 10 + (c - '0'); // saturates far beyond any real bound
            }
            if (expNegative) exp = -exp;
        }
        while (length > 0 && digits[length - 1] == (byte)'0') { length--; exp++; }
        exponent = length == 0 ? 0 : exp - fraction;
    }
}
