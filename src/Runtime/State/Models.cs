using System.Text.Json.Serialization;
using Runcs.Spec;

namespace Runcs.State;

/// <summary>What `runcs state` prints: the OCI state plus runc's extra fields (go-runc reads them).</summary>
public sealed class OciState
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecInfo.Version;
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public string Created { get; set; } = "";
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>One row of `runcs list --format json` (runc's field names).</summary>
public sealed class ListEntry
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecInfo.Version;
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public string Created { get; set; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
}

/// <summary>
/// The container's record in <c>--root/&lt;id&gt;/state.json</c>. The status is not stored: it is
/// derived from the live process each time (pid + start time), see <see cref="StatusDeriver"/>.
/// </summary>
public sealed class StoredState
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    /// <summary>Init pid in the caller's pid namespace; 0 before init exists.</summary>
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat of init, to tell a reused pid from ours.</summary>
    [JsonPropertyName("pidStartTime")] public ulong PidStartTime { get; set; }
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public string Created { get; set; } = "";
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
    /// <summary>What `state` and `list` show: state files of this version keep annotations only in the config.</summary>
    [JsonIgnore] public Dictionary<string, string>? EffectiveAnnotations => Annotations ?? Config?.Annotations;
    /// <summary>The validated config as create saw it: exec, kill, delete and hooks use this copy.</summary>
    [JsonPropertyName("config")] public Config? Config { get; set; }
    /// <summary>Cgroup directories by controller ("" for the cgroup2 hierarchy).</summary>
    [JsonPropertyName("cgroupPaths")] public Dictionary<string, string>? CgroupPaths { get; set; }
    /// <summary>Namespace files of init by type (e.g. "network" -> "/proc/123/ns/net").</summary>
    [JsonPropertyName("namespacePaths")] public Dictionary<string, string>? NamespacePaths { get; set; }
    /// <summary>True once `start` has released init; a created container never had it.</summary>
    [JsonPropertyName("started")] public bool Started { get; set; }
}

public static class Status
{
    public const string Creating = "creating";
    public const string Created = "created";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Stopped = "stopped";
}
