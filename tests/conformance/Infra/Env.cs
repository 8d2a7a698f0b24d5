using System.Diagnostics;

namespace Runcs.Conformance;

/// <summary>Where the binary under test, the reference runtime and the test rootfs are.</summary>
public static class Env
{
    public static string Repo { get; } = FindRepo();

    /// <summary>bin/runcs of this checkout, or $RUNCS_BINARY.</summary>
    public static string Runcs { get; } = Environment.GetEnvironmentVariable("RUNCS_BINARY") is { Length: > 0 } b
        ? b : Path.Combine(Repo, "bin", "runcs");

    public static string Rootfs { get; } = Environment.GetEnvironmentVariable("RUNCS_TEST_ROOTFS") is { Length: > 0 } r
        ? r : Path.Combine(Repo, ".cache", "rootfs");

    public static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    private static string FindRepo()
    {
        if (Environment.GetEnvironmentVariable("RUNCS_REPO") is { Length: > 0 } env) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "OciRuntime.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository (OciRuntime.sln) above " + AppContext.BaseDirectory);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}

/// <summary>Result of running a command to completion.</summary>
public sealed record Result(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

public static class Run
{
    /// <summary>Runs a program with arguments (no shell), optional stdin, and a timeout.</summary>
    public static Result Exec(string file, IEnumerable<string> args, string? stdin = null, int timeoutMs = 60_000, string? cwd = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false, WorkingDirectory = cwd ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin != null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs))
        {
            try { p.Kill(true); } catch { }
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutMs} ms");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, so.Result, se.Result);
    }

    public static Result Runcs(params string[] args) => Exec(Env.Runcs, args);
}
