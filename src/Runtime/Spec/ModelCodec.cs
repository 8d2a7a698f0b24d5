using System.Buffers;
using System.Text.Json;

namespace Runcs.Spec;

/// <summary>
/// Plain-code JSON for the config model and the documents that embed it (the generated half is
/// ModelCodec.g.cs, from tools/codegen/gen-model-codec.py). Reading follows System.Text.Json's
/// rules for these types: unknown members ignored (kept in <c>Extra</c> on the root), the last of
/// duplicate members wins, numbers must fit their type exactly, JSON null only where the model
/// allows it. Every mismatch is a <see cref="ConfigException"/> naming the JSON pointer.
/// </summary>
internal static partial class ModelCodec
{
    public const string WrongRule = "wrong type or out-of-range value";

    private static ConfigException Wrong(string at) => new(at, WrongRule);

    private static string Str(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Wrong(at);

    private static bool Bool(JsonElement e, string at) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Wrong(at),
    };

    private static int Int32(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Wrong(at);
    private static uint UInt32(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetUInt32(out var v) ? v : throw Wrong(at);
    private static long Int64(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : throw Wrong(at);
    private static ulong UInt64(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out var v) ? v : throw Wrong(at);
    private static ushort UInt16(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetUInt16(out var v) ? v : throw Wrong(at);

    private static byte[] Bytes(JsonElement e, string at) =>
        e.ValueKind == JsonValueKind.String && e.TryGetBytesFromBase64(out var v) ? v : throw Wrong(at);

    private static List<T> List<T>(JsonElement e, string at, Func<JsonElement, string, T> item)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Wrong(at);
        var list = new List<T>(e.GetArrayLength());
        int i = 0;
        foreach (var x in e.EnumerateArray()) list.Add(item(x, at + "/" + (i++).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return list;
    }

    private static Dictionary<string, T> Dict<T>(JsonElement e, string at, Func<JsonElement, string, T> item)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Wrong(at);
        var d = new Dictionary<string, T>();
        foreach (var p in e.EnumerateObject()) d[p.Name] = item(p.Value, at + "/" + Escape(p.Name));
        return d;
    }

    private static string Escape(string key) =>
        key.IndexOfAny(['~', '/']) < 0 ? key : key.Replace("~", "~0").Replace("/", "~1");

    [ThreadStatic] private static ArrayBufferWriter<byte>? _scratch;

    /// <summary>
    /// Serializes into a buffer this thread reuses: the result is valid until the next call. State
    /// files and init's instructions carry the whole config (a 200 KB one with thousands of
    /// annotations is legal): growing a fresh buffer for each of create's writes allocated
    /// megabytes, enough to start collections while the forked setup process shares every page.
    /// </summary>
    public static ReadOnlyMemory<byte> Serialize<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        var buf = _scratch ??= new ArrayBufferWriter<byte>(16384);
        buf.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(buf, new JsonWriterOptions { SkipValidation = true }))
            write(w, value);
        return buf.WrittenMemory;
    }

    /// <summary>Serializes with a generated writer into UTF-8 bytes of its own (compact).</summary>
    public static byte[] ToUtf8<T>(T value, Action<Utf8JsonWriter, T> write) => Serialize(value, write).ToArray();

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[i..], out _, out int n) != OperationStatus.Done) return i;
            i += n;
        }
        return i;
    }

    /// <summary>
    /// Parses UTF-8 JSON text. JsonDocument checks structure, not string contents: invalid UTF-8
    /// would surface later as an InvalidOperationException from GetString. JSON text must be UTF-8
    /// (RFC 8259), so it is refused here, as a <see cref="JsonException"/> like any syntax error.
    /// </summary>
    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> utf8, int maxDepth = ConfigLoader.MaxDepth)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
            throw new JsonException($"invalid UTF-8 at byte {FirstInvalidUtf8(utf8.Span)}");
        return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = maxDepth });
    }

    /// <summary>Parses UTF-8 JSON and reads it with a generated reader.</summary>
    public static T FromUtf8<T>(ReadOnlyMemory<byte> utf8, Func<JsonElement, string, T> read, int maxDepth = ConfigLoader.MaxDepth)
    {
        using var doc = ParseDocument(utf8, maxDepth);
        return read(doc.RootElement, "");
    }
}
