using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Runcs.Fuzz;

/// <summary>
/// Hostile-input generator for issue #8: deterministic mutations of real-world OCI documents
/// (config.json of Docker/Podman/containerd, exec's process.json, update's --resources).
/// Case <c>n</c> of a seed is always the same bytes, so a failure is reproduced from its number alone
/// (<see cref="Case"/>). Mutation kinds: type swaps, missing fields, duplicated keys, huge / negative /
/// fractional / overflowing numbers, invalid UTF-8, deep nesting, 10 MB strings, thousands of mounts,
/// unknown fields, hostile path strings, truncation and byte flips. Shared (linked) by the in-process
/// fuzz tests of tests/Runtime.Tests and the binary slice of tests/conformance.
/// </summary>
public static class ConfigMutator
{
    /// <summary>One generated input: its number, what was done (for the failure message) and the bytes.</summary>
    public sealed record Generated(long Number, string What, byte[] Bytes);

    private static readonly string[] HostileStrings =
    [
        "", "/", "//", "..", "../../../../../../", "/proc/self/fd/3", "/proc/self/exe", "/proc/1/root", "/dev/null",
        "/sys/fs/cgroup/../../..", "\u0000", "a\u0000b", "\n", "line\nbreak", "\t", " ", "~", "%s%s%n", "$(reboot)",
        "\ud83d\ude00", "\u202e", "é", "CAP_SYS_ADMIN", "SCMP_ACT_ALLOW", "rbind", "bind", "proc", "tmpfs", "user", "mount",
        "-1", "0", "4294967296", "18446744073709551616", "1e400", "true", "null", "{}", "[]",
        new string('A', 4097), new string('/', 300), string.Concat(Enumerable.Repeat("a/", 2100)),
    ];

    private static readonly JsonNode?[] HostileNumbers =
    [
        JsonValue.Create(-1), JsonValue.Create(0), JsonValue.Create(1), JsonValue.Create(int.MaxValue), JsonValue.Create(int.MinValue),
        JsonValue.Create(uint.MaxValue), JsonValue.Create(long.MaxValue), JsonValue.Create(long.MinValue), JsonValue.Create(ulong.MaxValue),
        JsonValue.Create(1.5), JsonValue.Create(-0.5), JsonValue.Create(1e308), JsonValue.Create(-1e308), JsonValue.Create(4294967296L),
        JsonValue.Create(-4294967297L), JsonValue.Create(65536), JsonValue.Create(-1001), JsonValue.Create(1001),
    ];

    /// <summary>Raw number texts that no CLR type holds.</summary>
    private static readonly string[] RawNumbers =
        ["18446744073709551616", "-9223372036854775809", "1e400", "-1e400", "123456789012345678901234567890", "1E+2", "0.0000000001", "-0", "1.0"];

    /// <summary>Generates case <paramref name="n"/> of <paramref name="seed"/> (a valid document).</summary>
    public static Generated Case(JsonNode seed, long n, bool allowHuge = true)
    {
        var rnd = new Random(unchecked((int)(n * 2654435761L ^ (n >> 32))));
        var doc = seed.DeepClone();
        var what = new List<string>();
        var duplicates = new List<(string Key, string Value)>();
        int count = 1 + rnd.Next(4);
        for (int i = 0; i < count; i++) Mutate(doc, rnd, what, duplicates, allowHuge);
        var text = doc.ToJsonString();
        foreach (var (key, value) in duplicates) text = DuplicateKey(text, key, value);
        var bytes = Encoding.UTF8.GetBytes(Expand(text));
        // Byte-level damage after serialization (1 case in 6).
        if (rnd.Next(6) == 0) bytes = ByteDamage(bytes, rnd, what);
        return new Generated(n, string.Join("; ", what), bytes);
    }

    private static void Mutate(JsonNode doc, Random rnd, List<string> what, List<(string, string)> duplicates, bool allowHuge)
    {
        var all = new List<Entry>();
        Collect(doc, "", all);
        if (all.Count == 0) return;
        var (node, parent, key, index, path) = all[rnd.Next(all.Count)];
        int kind = rnd.Next(100);
        switch (kind)
        {
            case < 25: // type swap
            {
                var v = RandomValue(rnd, node);
                Replace(parent, key, index, v);
                what.Add($"type swap {path} -> {Short(v)}");
                break;
            }
            case < 38: // missing field
                if (parent is JsonObject po && key != null) { po.Remove(key); what.Add($"remove {path}"); }
                else if (parent is JsonArray pa && index < pa.Count) { pa.RemoveAt(index); what.Add($"remove {path}"); }
                break;
            case < 46: // duplicated key (done on the text: JsonNode cannot hold one)
                if (key != null)
                {
                    var dv = rnd.Next(2) == 0 ? (node?.ToJsonString() ?? "null") : Short(RandomValue(rnd, node), int.MaxValue);
                    duplicates.Add((key, dv));
                    what.Add($"duplicate key {path}");
                }
                break;
            case < 60: // numbers
            {
                var numbers = all.Where(e => e.Node is JsonValue jv && jv.GetValueKind() == JsonValueKind.Number).ToList();
                var t = numbers.Count > 0 && rnd.Next(4) != 0 ? numbers[rnd.Next(numbers.Count)] : new Entry(node, parent, key, index, path);
                if (rnd.Next(3) == 0)
                {
                    var raw = RawNumbers[rnd.Next(RawNumbers.Length)];
                    Replace(t.Parent, t.Key, t.Index, JsonValue.Create("\u0001RAW" + raw + "\u0001"));
                    what.Add($"raw number {t.Path} = {raw}");
                }
                else
                {
                    var v = HostileNumbers[rnd.Next(HostileNumbers.Length)]!.DeepClone();
                    Replace(t.Parent, t.Key, t.Index, v);
                    what.Add($"number {t.Path} = {v.ToJsonString()}");
                }
                break;
            }
            case < 72: // hostile strings
            {
                var strings = all.Where(e => e.Node is JsonValue jv && jv.GetValueKind() == JsonValueKind.String).ToList();
                var t = strings.Count > 0 ? strings[rnd.Next(strings.Count)] : new Entry(node, parent, key, index, path);
                var s = HostileStrings[rnd.Next(HostileStrings.Length)];
                if (rnd.Next(5) == 0 && t.Node is JsonValue sv && sv.GetValueKind() == JsonValueKind.String) s = sv.GetValue<string>() + s;
                Replace(t.Parent, t.Key, t.Index, JsonValue.Create(s));
                what.Add($"string {t.Path} = {Short(JsonValue.Create(s))}");
                break;
            }
            case < 77: // deep nesting
            {
                int depth = rnd.Next(4) switch { 0 => 200 + rnd.Next(100), 1 => 1000, 2 => 20 + rnd.Next(20), _ => 5000 };
                JsonNode deep = rnd.Next(2) == 0 ? new JsonArray() : new JsonObject();
                // Built bottom-up without recursion in the generator.
                for (int d = 0; d < Math.Min(depth, 60); d++) deep = rnd.Next(2) == 0 ? new JsonArray(deep) : new JsonObject { ["a"] = deep };
                if (depth > 60) { Replace(parent, key, index, JsonValue.Create("\u0001DEEP" + depth + "\u0001")); }
                else Replace(parent, key, index, deep);
                what.Add($"nesting {depth} at {path}");
                break;
            }
            case < 79: // 10 MB string (rare: slow)
                if (!allowHuge) goto default;
                Replace(parent, key, index, JsonValue.Create("\u0001HUGE\u0001"));
                what.Add($"10 MB string at {path}");
                break;
            case < 84: // thousands of mounts (or of another array)
            {
                int n = rnd.Next(3) == 0 ? 10_000 : 1000 + rnd.Next(3000);
                var mounts = new JsonArray();
                for (int i = 0; i < n; i++)
                {
                    var m = new JsonObject { ["destination"] = $"/m/{i}", ["type"] = rnd.Next(3) == 0 ? "bind" : "tmpfs", ["source"] = rnd.Next(3) == 0 ? "/nonexistent" : "tmpfs" };
                    if (rnd.Next(2) == 0) m["options"] = new JsonArray("nosuid", "nodev", rnd.Next(4) == 0 ? "rbind" : "mode=755");
                    mounts.Add(m);
                }
                if (doc is JsonObject root) root["mounts"] = mounts;
                what.Add($"{n} mounts");
                break;
            }
            case < 90: // unknown field
            {
                var target = all.Where(e => e.Node is JsonObject).Select(e => e.Node).ToList();
                if (doc is JsonObject) target.Add(doc);
                if (target[rnd.Next(target.Count)] is JsonObject o)
                {
                    var name = rnd.Next(2) == 0 ? "x-unknown-" + rnd.Next(1000) : HostileStrings[rnd.Next(HostileStrings.Length)];
                    o[name] = RandomValue(rnd, null);
                    what.Add($"add field {Short(JsonValue.Create(name))}");
                }
                break;
            }
            case < 95: // empty / null containers
                Replace(parent, key, index, rnd.Next(3) switch { 0 => null, 1 => new JsonArray(), _ => new JsonObject() });
                what.Add($"emptied {path}");
                break;
            default: // array of many copies of an element
                if (parent is JsonArray arr && node != null)
                {
                    int copies = 50 + rnd.Next(2000);
                    for (int i = 0; i < copies; i++) arr.Add(node.DeepClone());
                    what.Add($"{copies} copies of {path}");
                }
                break;
        }
    }

    private readonly record struct Entry(JsonNode? Node, JsonNode Parent, string? Key, int Index, string Path);

    private static JsonNode? RandomValue(Random rnd, JsonNode? old)
    {
        var oldKind = old is JsonValue v ? v.GetValueKind() : old is JsonArray ? JsonValueKind.Array : old is JsonObject ? JsonValueKind.Object : JsonValueKind.Null;
        for (int tries = 0; tries < 5; tries++)
        {
            JsonNode? r = rnd.Next(7) switch
            {
                0 => JsonValue.Create(HostileStrings[rnd.Next(HostileStrings.Length)]),
                1 => HostileNumbers[rnd.Next(HostileNumbers.Length)]!.DeepClone(),
                2 => JsonValue.Create(rnd.Next(2) == 0),
                3 => null,
                4 => new JsonArray(JsonValue.Create("x"), JsonValue.Create(1), null),
                5 => new JsonObject { ["k"] = "v" },
                _ => old is JsonArray a && a.Count > 0 ? a[0]?.DeepClone() : old is JsonObject ? new JsonArray(old.DeepClone()) : JsonValue.Create("x"),
            };
            var k = r is JsonValue rv ? rv.GetValueKind() : r is JsonArray ? JsonValueKind.Array : r is JsonObject ? JsonValueKind.Object : JsonValueKind.Null;
            if (k != oldKind) return r;
        }
        return JsonValue.Create("swapped");
    }

    private static void Collect(JsonNode? node, string path, List<Entry> into)
    {
        if (node is JsonObject o)
            foreach (var (k, v) in o.ToList())
            {
                var p = path + "/" + k;
                into.Add(new Entry(v, o, k, -1, p));
                Collect(v, p, into);
            }
        else if (node is JsonArray a)
            for (int i = 0; i < a.Count; i++)
            {
                var p = path + "/" + i;
                into.Add(new Entry(a[i], a, null, i, p));
                Collect(a[i], p, into);
            }
    }

    private static void Replace(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (value?.Parent != null) value = value.DeepClone();
        if (parent is JsonObject o && key != null) o[key] = value;
        else if (parent is JsonArray a && index >= 0 && index < a.Count) a[index] = value;
    }

    /// <summary>Inserts a second occurrence of a key (its first one in the text) with another value.</summary>
    private static string DuplicateKey(string text, string key, string value)
    {
        var needle = JsonSerializer.Serialize(key) + ":";
        int at = text.IndexOf(needle, StringComparison.Ordinal);
        if (at < 0) return text;
        return text[..at] + needle + value + "," + text[at..];
    }

    private static byte[] ByteDamage(byte[] b, Random rnd, List<string> what)
    {
        var list = new List<byte>(b);
        switch (rnd.Next(6))
        {
            case 0:
            {
                int cut = rnd.Next(Math.Max(1, list.Count));
                what.Add($"truncated at {cut}");
                return list.Take(cut).ToArray();
            }
            case 1:
            case 2:
            {
                // Invalid UTF-8 inside a string value: lone continuation, truncated sequence, overlong, surrogate, 0xFF.
                byte[][] bad = [[0x80], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xFF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]];
                var seq = bad[rnd.Next(bad.Length)];
                int quote = FindStringPosition(b, rnd);
                list.InsertRange(quote, seq);
                what.Add($"invalid UTF-8 {Convert.ToHexString(seq)} at byte {quote}");
                return list.ToArray();
            }
            case 3:
            {
                int i = rnd.Next(Math.Max(1, list.Count));
                if (list.Count > 0) list[i] = (byte)rnd.Next(256);
                what.Add($"byte {i} flipped");
                return list.ToArray();
            }
            case 4:
                what.Add("BOM + trailing garbage");
                return [0xEF, 0xBB, 0xBF, .. b, (byte)'}', (byte)'x'];
            default:
                what.Add("NUL bytes appended");
                return [.. b, 0, 0, 0];
        }
    }

    private static int FindStringPosition(byte[] b, Random rnd)
    {
        var quotes = new List<int>();
        for (int i = 0; i < b.Length; i++) if (b[i] == (byte)'"') quotes.Add(i + 1);
        return quotes.Count == 0 ? 0 : quotes[rnd.Next(quotes.Count)];
    }

    /// <summary>Expands the placeholders into their (large or unrepresentable) final text.</summary>
    private static string Expand(string s)
    {
        if (!s.Contains("\\u0001", StringComparison.Ordinal)) return s;
        // At most three 10 MB strings per document: a later mutation may copy the element holding
        // the placeholder thousands of times, and 2000 x 10 MB exceeds what a string can hold (the
        // generator, not runcs, failed on case 20816 of `make stress` that way). The rest get 64 KiB.
        const string huge = "\"\\u0001HUGE\\u0001\"";
        if (s.Contains(huge, StringComparison.Ordinal))
        {
            var sb = new System.Text.StringBuilder();
            int from = 0, count = 0;
            for (int at; (at = s.IndexOf(huge, from, StringComparison.Ordinal)) >= 0; from = at + huge.Length)
                sb.Append(s, from, at - from).Append('"').Append('x', count++ < 3 ? 10 * 1024 * 1024 : 64 * 1024).Append('"');
            s = sb.Append(s, from, s.Length - from).ToString();
        }
        s = System.Text.RegularExpressions.Regex.Replace(s, "\"\\\\u0001RAW([^\\\\]*)\\\\u0001\"", m => m.Groups[1].Value);
        s = System.Text.RegularExpressions.Regex.Replace(s, "\"\\\\u0001DEEP([0-9]+)\\\\u0001\"", m =>
        {
            int d = int.Parse(m.Groups[1].Value);
            return new string('[', d) + new string(']', d);
        });
        return s;
    }

    private static string Short(JsonNode? v, int max = 60)
    {
        var s = v?.ToJsonString() ?? "null";
        return s.Length > max ? s[..max] + "…" : s;
    }

    // ------------------------------------------------------------------ seeds

    /// <summary>../shared/real-world-configs of the repository (a sibling of the checkout), or $RUNCS_REAL_WORLD_CONFIGS.</summary>
    public static string RealWorldDir(string repo) =>
        Environment.GetEnvironmentVariable("RUNCS_REAL_WORLD_CONFIGS") is { Length: > 0 } d ? d : Path.Combine(repo, "..", "shared", "real-world-configs");

    /// <summary>The real-world configs, adapted so an unmutated one passes validation: root.path "rootfs", namespace paths dropped, hooks dropped.</summary>
    public static List<(string Name, JsonObject Config)> ConfigSeeds(string repo)
    {
        var list = new List<(string, JsonObject)>();
        foreach (var f in Directory.GetFiles(RealWorldDir(repo), "*.json").OrderBy(f => f, StringComparer.Ordinal))
        {
            var c = JsonNode.Parse(File.ReadAllText(f))!.AsObject();
            c["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = true };
            if (c["linux"]?["namespaces"] is JsonArray ns)
                foreach (var n in ns) n!.AsObject().Remove("path");
            c.Remove("hooks");
            if (c["process"] is JsonObject p) p["terminal"] = false;
            list.Add((Path.GetFileNameWithoutExtension(f), c));
        }
        return list;
    }

    /// <summary>A process.json as containerd's shim hands to `exec --process` (from a real-world config's process).</summary>
    public static JsonObject ProcessSeed(JsonObject config)
    {
        var p = config["process"]!.DeepClone().AsObject();
        p["args"] = new JsonArray("true");
        p["terminal"] = false;
        return p;
    }

    /// <summary>A --resources document for `update` as containerd's shim sends it (applies on cgroup v1 and v2).</summary>
    public static JsonObject ResourcesSeed() => JsonNode.Parse("""
        {
          "memory": { "limit": 268435456, "reservation": 134217728, "swap": 536870912, "swappiness": 60, "disableOOMKiller": false },
          "cpu": { "shares": 1024, "quota": 100000, "period": 100000, "cpus": "0", "mems": "0" },
          "pids": { "limit": 100 },
          "blockIO": { "weight": 500 }
        }
        """)!.AsObject();
}
