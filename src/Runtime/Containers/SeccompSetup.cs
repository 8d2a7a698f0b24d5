using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Runcs.Linux;
using Runcs.Seccomp;
using Runcs.Spec;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>Planning-time seccomp: compile the profile to BPF bytes, and hand notify listeners to the agent.</summary>
public static class SeccompSetup
{
    public sealed record Compiled(byte[] Program, uint Flags, bool NeedsListener);

    /// <summary>Compiles linux.seccomp for the native arch; null when the config has none.</summary>
    public static Compiled? Compile(SeccompProfile? profile)
    {
        if (profile is null) return null;
        SeccompProgram p;
        try { p = SeccompCompiler.Compile(profile); }
        catch (SeccompException e) { throw new ConfigException("/linux/seccomp", e.Message); }
        var bytes = MemoryMarshal.AsBytes(p.Instructions.AsSpan()).ToArray();
        if (bytes.Length != p.Instructions.Length * 8) throw new RuncsException("internal error: unexpected sock_filter layout");
        return new Compiled(bytes, p.Flags, p.NeedsListener);
    }

    /// <summary>
    /// Sends a seccomp notify listener to the agent at listenerPath as runc does: the fd over
    /// SCM_RIGHTS with the container process state JSON (fds, pid, metadata, state).
    /// </summary>
    public static void SendListener(SeccompProfile profile, int listenerFd, int pid, OciState state)
    {
        var path = profile.ListenerPath ?? throw new RuncsException("seccomp notify needs linux.seccomp.listenerPath");
        var msg = new ContainerProcessState { Pid = pid, Metadata = profile.ListenerMetadata ?? "", State = state };
        var json = JsonSerializer.SerializeToUtf8Bytes(msg, SeccompJson.Default.ContainerProcessState);
        int sock = Terminal.Pty.ConnectConsoleSocket(path);
        try { FdPassing.Send(sock, listenerFd, json); }
        catch (RuncsException e) { throw new RuncsException($"sending the seccomp listener to {path}: {e.Message}"); }
        finally { Libc.close(sock); }
    }
}

/// <summary>The message a seccomp agent receives with the listener fd (runtime-spec "ContainerProcessState").</summary>
public sealed class ContainerProcessState
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecInfo.Version;
    [JsonPropertyName("fds")] public List<string> Fds { get; set; } = ["seccompFd"];
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("metadata")] public string Metadata { get; set; } = "";
    [JsonPropertyName("state")] public OciState State { get; set; } = new();
}

[JsonSerializable(typeof(ContainerProcessState))]
internal sealed partial class SeccompJson : JsonSerializerContext { }
