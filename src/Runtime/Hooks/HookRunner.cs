using Microsoft.Win32.SafeHandles;
using Runcs.Linux;
using System.Text.Json;
using Runcs.Spec;
using Runcs.State;

namespace Runcs.Hooks;

/// <summary>
/// Runs OCI hooks: the container state JSON on stdin, the hook's own args and env (env replaces
/// the environment entirely, as the spec says), and its timeout. A hook that fails or times out
/// raises a <see cref="RuncsException"/> naming the hook kind, path and reason.
/// </summary>
public static class HookRunner
{
    public static void RunAll(string kind, List<Hook>? hooks, OciState state)
    {
        if (hooks is null || hooks.Count == 0) return;
        var json = JsonSerializer.Serialize(state, RuncsJson.Default.OciState);
        for (int i = 0; i < hooks.Count; i++) Run(kind, i, hooks[i], json);
    }

    /// <summary>Runs every hook; failures are logged as warnings (poststop semantics).</summary>
    public static void RunAllWarnOnly(string kind, List<Hook>? hooks, OciState state)
    {
        if (hooks is null) return;
        var json = JsonSerializer.Serialize(state, RuncsJson.Default.OciState);
        for (int i = 0; i < hooks.Count; i++)
        {
            try { Run(kind, i, hooks[i], json); }
            catch (RuncsException e) { Log.Warn(e.Message); }
        }
    }

    private static void Run(string kind, int index, Hook h, string stateJson)
    {
        var what = $"running {kind} hook #{index} ({h.Path})";
        // args have execv semantics: args[0] is argv[0], which may differ from the path.
        IReadOnlyList<string> argv = h.Args is { Count: > 0 } ? h.Args : [h.Path];
        IReadOnlyList<string> envp = h.Env ?? [];
        Spawn.Child c;
        try { c = Spawn.Start(h.Path, argv, envp); }
        catch (IOException e) { throw new RuncsException($"{what}: {e.Message}"); }
        using var stdout = new FileStream(new SafeFileHandle(c.StdoutR, true), FileAccess.Read, 1);
        using var stderrStream = new FileStream(new SafeFileHandle(c.StderrR, true), FileAccess.Read, 1);
        var stderr = new StreamReader(stderrStream).ReadToEndAsync();
        var drain = stdout.CopyToAsync(Stream.Null);
        using (var stdin = new FileStream(new SafeFileHandle(c.StdinW, true), FileAccess.Write, 1))
        {
            try
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(stateJson);
                stdin.Write(bytes);
            }
            catch (IOException) { /* the hook did not read its stdin: allowed */ }
        }
        int timeoutMs = h.Timeout is > 0 ? h.Timeout.Value * 1000 : -1;
        if (!Spawn.Wait(c.Pid, timeoutMs, out int status))
        {
            Libc.kill(c.Pid, 9);
            Spawn.Wait(c.Pid, -1, out _);
            throw new RuncsException($"{what}: timed out after {h.Timeout} s");
        }
        int sig = status & 0x7f, code = (status >> 8) & 0xff;
        if (sig != 0 || code != 0)
        {
            string err = "";
            if (stderr.Wait(1000)) err = stderr.Result.Trim();
            if (err.Length > 300) err = err[..300];
            var how = sig != 0 ? $"was killed by signal {sig}" : $"exited with status {code}";
            throw new RuncsException($"{what}: {how}{(err.Length > 0 ? ": " + err.Replace('\n', ' ') : "")}");
        }
        drain.Wait(1000);
    }
}
