using System.Text.Json;
using System.Text.Json.Nodes;

namespace Runcs.Spec;

/// <summary>
/// Reads a bundle's config.json: JSON syntax, the project's schema (specs/), typed
/// deserialization, then the semantic rules of <see cref="Validator"/>. Every failure is a
/// <see cref="ConfigException"/> naming the JSON pointer and the rule, raised before anything
/// is created.
/// </summary>
public static class ConfigLoader
{
    public const string ConfigName = "config.json";

    /// <summary>Deepest JSON nesting accepted (a real config nests about 6 levels).</summary>
    public const int MaxDepth = 64;

    public sealed record Loaded(Config Config, string Bundle, string Rootfs);

    public static Loaded LoadBundle(string bundle, bool forCreate)
    {
        string abs;
        try { abs = Path.GetFullPath(bundle); }
        catch (Exception e) when (e is ArgumentException or IOException) { throw new RuncsException($"invalid bundle path {bundle}: {e.Message}"); }
        if (!Directory.Exists(abs)) throw new RuncsException($"bundle {abs} does not exist or is not a directory");
        var file = Path.Combine(abs, ConfigName);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(file); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        { throw new RuncsException($"bundle {abs} has no {ConfigName}"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new RuncsException($"reading {file}: {e.Message}"); }
        Log.Phase("config: file read");
        var config = Parse(bytes);
        Log.Phase("config: parsed");
        var rootfs = Validator.Validate(config, abs, forCreate);
        return new Loaded(config, abs, rootfs);
    }

    /// <summary>Syntax, schema and types; no filesystem checks.</summary>
    public static Config Parse(ReadOnlySpan<byte> utf8)
    {
        // Parsed once: the schema is evaluated on the document, then the typed model is read from
        // the same document by the generated reader.
        JsonDocument doc;
        try
        {
            // 64: the depth the typed reader and the schema validator accept (deeper input used to
            // escape as an unhandled JsonReaderException from the schema step: issue #8 fuzzing).
            doc = ModelCodec.ParseDocument(utf8.ToArray(), MaxDepth);
        }
        catch (JsonException e)
        {
            throw new ConfigException("", $"not valid JSON: {SyntaxMessage(e)}");
        }
        catch (ArgumentException e)
        {
            throw new ConfigException("", $"not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ConfigException("", "the config must be a JSON object");
            Log.Phase("config: json document");
            var errors = SchemaValidator.ValidateConfig(doc.RootElement);
            Log.Phase("config: schema");
            if (errors.Count > 0) throw new ConfigException(errors[0].Pointer, errors[0].Message);
            // The typed model comes from the same parsed document, read by plain generated code
            // (System.Text.Json's metadata for ~45 types costs milliseconds to build at startup).
            return ModelCodec.ReadConfig(doc.RootElement, "");
        }
    }

    public static string SyntaxMessage(JsonException e)
    {
        var msg = e.Message;
        int cut = msg.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0) msg = msg[..cut];
        return e.LineNumber is { } l ? $"{msg.TrimEnd('.')} (line {l + 1}, byte {e.BytePositionInLine + 1})" : msg;
    }

    /// <summary>Converts System.Text.Json's "$.linux.namespaces[2].type" into "/linux/namespaces/2/type".</summary>
    public static string PathToPointer(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return "";
        var sb = new System.Text.StringBuilder();
        int i = path[0] == '$' ? 1 : 0;
        while (i < path.Length)
        {
            char c = path[i];
            if (c == '.')
            {
                int j = i + 1;
                while (j < path.Length && path[j] != '.' && path[j] != '[') j++;
                sb.Append('/').Append(Escape(path[(i + 1)..j]));
                i = j;
            }
            else if (c == '[')
            {
                int j = path.IndexOf(']', i);
                if (j < 0) break;
                var inner = path[(i + 1)..j];
                if (inner.Length >= 2 && inner[0] == '\'') inner = inner[1..^1];
                sb.Append('/').Append(Escape(inner));
                i = j + 1;
            }
            else i++;
        }
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("~", "~0").Replace("/", "~1");
}
