using System.Diagnostics;
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
        var psi = new ProcessStartInfo(h.Path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (h.Args is { Count: > 1 })
            for (int i = 1; i < h.Args.Count; i++) psi.ArgumentList.Add(h.Args[i]);
        psi.Environment.Clear();
        if (h.Env is { } env)
            foreach (var kv in env)
            {
                int eq = kv.IndexOf('=');
                if (eq > 0) psi.Environment[kv[..eq]] = kv[(eq + 1)..];
            }
        System.Diagnostics.Process p;
        try { p = System.Diagnostics.Process.Start(psi) ?? throw new RuncsException($"{what}: could not start"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        { throw new RuncsException($"{what}: {e.Message}"); }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            try
            {
                p.StandardInput.Write(stateJson);
                p.StandardInput.Close();
            }
            catch (IOException) { /* the hook did not read its stdin: allowed */ }
            int timeoutMs = h.Timeout is > 0 ? h.Timeout.Value * 1000 : -1;
            if (!p.WaitForExit(timeoutMs))
            {
                try { p.Kill(true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                throw new RuncsException($"{what}: timed out after {h.Timeout} s");
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                var err = stderr.Result.Trim();
                if (err.Length > 300) err = err[..300];
                throw new RuncsException($"{what}: exited with status {p.ExitCode}{(err.Length > 0 ? ": " + err.Replace('\n', ' ') : "")}");
            }
        }
    }
}
