using System.Text.Json;
using System.Text.Json.Serialization;
using Runcs.Spec;
using Runcs.State;

namespace Runcs;

/// <summary>Source-generated JSON for every type runcs reads or writes (no reflection: NativeAOT).</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    AllowTrailingCommas = false,
    NumberHandling = JsonNumberHandling.Strict,
    WriteIndented = false)]
[JsonSerializable(typeof(Config))]
[JsonSerializable(typeof(Process))]
[JsonSerializable(typeof(Resources))]
[JsonSerializable(typeof(OciState))]
[JsonSerializable(typeof(StoredState))]
[JsonSerializable(typeof(List<ListEntry>))]
[JsonSerializable(typeof(Features))]
[JsonSerializable(typeof(Init.InitInstructions))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<int>))]
internal sealed partial class RuncsJson : JsonSerializerContext
{
    private static RuncsJson? _indented;
    /// <summary>Same context, indented output (spec and state printing, as runc does).</summary>
    public static RuncsJson Indented => _indented ??= new RuncsJson(new JsonSerializerOptions(Default.Options) { WriteIndented = true, IndentSize = 2 });
}
