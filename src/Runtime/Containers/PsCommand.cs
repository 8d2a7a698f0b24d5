using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>
/// `runcs ps ID [ps options]`: the container's processes. Table: the host's `ps` (default
/// options -ef) filtered to the container's pids, as runc does; --format json: the pid list.
/// </summary>
public static class PsCommand
{
    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        var format = inv.Get("format") ?? "table";
        if (format is not ("table" or "json")) throw new UsageException($"invalid format option: {format} (use table or json)");
        var s = store.Load(id);
        if (StatusDeriver.Derive(s, store.Dir(id)) == Status.Stopped) throw new RuncsException($"container {id} is not running");
        var pids = ContainerCgroups.Of(s).GetPids();
        pids.Sort();
        if (format == "json")
        {
            Console.Out.Write(JsonSerializer.Serialize(pids, RuncsJson.Default.ListInt32) + "\n");
            return 0;
        }
        var psArgs = inv.Args.Count > 1 ? inv.Args.Skip(1).ToList() : ["-ef"];
        var psi = new ProcessStartInfo("ps") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in psArgs) psi.ArgumentList.Add(a);
        string output;
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            output = p.StandardOutput.ReadToEnd();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new RuncsException($"ps {string.Join(' ', psArgs)} failed: {err.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e) { throw new RuncsException($"running ps: {e.Message}"); }
        var lines = output.Split('\n');
        int pidCol = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PID");
        if (pidCol < 0) throw new RuncsException("ps output has no PID column");
        var set = new HashSet<int>(pids);
        var sb = new StringBuilder(lines[0]).Append('\n');
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length > pidCol && int.TryParse(f[pidCol], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && set.Contains(pid))
                sb.Append(line).Append('\n');
        }
        Console.Out.Write(sb.ToString());
        return 0;
    }
}
