using System.Text.Json.Serialization;
using Runcs.Spec;

namespace Runcs.Init;

/// <summary>
/// Everything `runcs init` needs, sent by the parent over the sync socket (never re-read from
/// the bundle: no TOCTOU between validation and use).
/// </summary>
public sealed class InitInstructions
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("config")] public Config Config { get; set; } = new();
    [JsonPropertyName("fifoPath")] public string FifoPath { get; set; } = "";
    [JsonPropertyName("noPivot")] public bool NoPivot { get; set; }
    [JsonPropertyName("noNewKeyring")] public bool NoNewKeyring { get; set; }
    /// <summary>Fds 3..3+ExtraFds-1 stay open into the container (LISTEN_FDS + --preserve-fds).</summary>
    [JsonPropertyName("extraFds")] public int ExtraFds { get; set; }
    [JsonPropertyName("logPath")] public string? LogPath { get; set; }
    [JsonPropertyName("logJson")] public bool LogJson { get; set; }
    [JsonPropertyName("debug")] public bool Debug { get; set; }
    /// <summary>Init's pid as the runtime (and hooks) see it.</summary>
    [JsonPropertyName("hostPid")] public int HostPid { get; set; }
    [JsonPropertyName("cgroupPaths")] public Dictionary<string, string>? CgroupPaths { get; set; }
    /// <summary>Namespace types created new for this container (as opposed to joined by path).</summary>
    [JsonPropertyName("newNamespaces")] public List<string> NewNamespaces { get; set; } = new();
    /// <summary>Compiled seccomp program (struct sock_filter array), or null.</summary>
    [JsonPropertyName("seccompProgram")] public byte[]? SeccompProgram { get; set; }
    [JsonPropertyName("seccompFlags")] public uint SeccompFlags { get; set; }
    /// <summary>The filter has SCMP_ACT_NOTIFY rules: install it during create and hand the listener to the parent.</summary>
    [JsonPropertyName("seccompListener")] public bool SeccompListener { get; set; }
    [JsonPropertyName("env")] public List<string> Env { get; set; } = new();
    /// <summary>Fd of the connected console socket (process.terminal), or -1.</summary>
    [JsonPropertyName("consoleSocketFd")] public int ConsoleSocketFd { get; set; } = -1;
    /// <summary>Fd of the log destination, opened by the parent, or -1 (stderr).</summary>
    [JsonPropertyName("logFd")] public int LogFd { get; set; } = -1;
    /// <summary>Indexes of idmap/ridmap mounts; one user-namespace fd per entry follows the instructions (SCM_RIGHTS).</summary>
    [JsonPropertyName("idmapMounts")] public List<int>? IdmapMounts { get; set; }
    [JsonPropertyName("created")] public string Created { get; set; } = "";
}
