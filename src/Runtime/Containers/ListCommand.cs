using System.Globalization;
using System.Text;
using System.Text.Json;
using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>`runcs list [--format table|json] [-q]` in runc's layout.</summary>
public static class ListCommand
{
    public static int Run(Invocation inv)
    {
        var format = inv.Get("format") ?? "table";
        if (format is not ("table" or "json")) throw new UsageException($"invalid format option: {format} (use table or json)");
        var store = new StateStore(inv.Global.Root);
        var rows = new List<ListEntry>();
        foreach (var id in store.ListIds())
        {
            if (!store.TryLoad(id, out var s) || s is null) continue; // a container being created or deleted right now
            var status = StatusDeriver.Derive(s, store.Dir(id));
            rows.Add(new ListEntry
            {
                Id = s.Id, Pid = status == Status.Stopped ? 0 : s.Pid, Status = status, Bundle = s.Bundle,
                Rootfs = s.Rootfs, Created = s.Created, Annotations = s.EffectiveAnnotations, Owner = s.Owner,
            });
        }
        if (inv.Bool("quiet"))
        {
            var sb = new StringBuilder();
            foreach (var r in rows) sb.Append(r.Id).Append('\n');
            Console.Out.Write(sb.ToString());
            return 0;
        }
        if (format == "json")
        {
            // runc 1.1 marshals its nil slice: an empty list is "null", not "[]".
            Console.Out.Write((rows.Count == 0 ? "null" : JsonSerializer.Serialize(rows, RuncsJson.Default.ListListEntry)) + "\n");
            return 0;
        }
        Console.Out.Write(Table(rows));
        return 0;
    }

    /// <summary>
    /// runc's layout (Go tabwriter, minwidth 12, padding 3): every column but the last is as wide as
    /// its widest cell plus three spaces, and at least 12.
    /// </summary>
    public static string Table(IReadOnlyList<ListEntry> rows)
    {
        var cells = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
        foreach (var r in rows)
            cells.Add([r.Id, r.Pid.ToString(CultureInfo.InvariantCulture), r.Status, r.Bundle, r.Created, r.Owner]);
        var widths = new int[6];
        foreach (var c in cells) for (int i = 0; i < 6; i++) widths[i] = Math.Max(widths[i], Math.Max(12, c[i].Length + 3));
        var sb = new StringBuilder();
        foreach (var c in cells)
        {
            for (int i = 0; i < 6; i++)
            {
                if (i < 5) sb.Append(c[i].PadRight(widths[i])); else sb.Append(c[i]);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
