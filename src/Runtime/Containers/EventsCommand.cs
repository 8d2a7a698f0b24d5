using System.Globalization;
using System.Text.Json;
using Runcs.Cgroups;
using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>
/// `runcs events [--stats] [--interval D] ID`: one stats event, or a stream of stats events every
/// interval (default 5s) plus an "oom" event whenever the kernel OOM-kills in the container;
/// the stream ends when the container stops.
/// </summary>
public static class EventsCommand
{
    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        var s = store.Load(id);
        if (StatusDeriver.Derive(s, store.Dir(id)) == Status.Stopped) throw new RuncsException($"container {id} is not running");
        var m = ContainerCgroups.Of(s);
        if (inv.Bool("stats"))
        {
            Emit(new CgroupEvent { Type = "stats", Id = id, Data = m.GetStats() });
            return 0;
        }
        var interval = ParseDuration(inv.Get("interval") ?? "5s");
        using var oom = m.WatchOom();
        var next = Environment.TickCount64;
        while (StatusDeriver.Derive(s, store.Dir(id)) != Status.Stopped)
        {
            if (Environment.TickCount64 >= next)
            {
                Emit(new CgroupEvent { Type = "stats", Id = id, Data = m.GetStats() });
                next = Environment.TickCount64 + (long)interval.TotalMilliseconds;
            }
            int wait = (int)Math.Clamp(next - Environment.TickCount64, 0, 500);
            int n = oom.Wait(wait);
            if (n < 0) break;
            for (int i = 0; i < n; i++) Emit(new CgroupEvent { Type = "oom", Id = id });
        }
        return 0;
    }

    private static void Emit(CgroupEvent e)
    {
        Console.Out.Write(JsonSerializer.Serialize(e, CgroupsJson.Default.CgroupEvent) + "\n");
        Console.Out.Flush();
    }

    /// <summary>Go-style durations: 500ms, 5s, 1m, 1h30m, or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && secs > 0) return TimeSpan.FromSeconds(secs);
        var total = TimeSpan.Zero;
        int i = 0;
        while (i < text.Length)
        {
            int j = i;
            while (j < text.Length && (char.IsAsciiDigit(text[j]) || text[j] == '.')) j++;
            int k = j;
            while (k < text.Length && !char.IsAsciiDigit(text[k]) && text[k] != '.') k++;
            if (j == i || !double.TryParse(text[i..j], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                throw new UsageException($"invalid duration \"{text}\"");
            total += text[j..k] switch
            {
                "ns" => TimeSpan.FromTicks((long)(v / 100)), "us" or "µs" => TimeSpan.FromTicks((long)(v * 10)), "ms" => TimeSpan.FromMilliseconds(v),
                "s" => TimeSpan.FromSeconds(v), "m" => TimeSpan.FromMinutes(v), "h" => TimeSpan.FromHours(v),
                _ => throw new UsageException($"invalid duration \"{text}\""),
            };
            i = k;
        }
        if (total <= TimeSpan.Zero) throw new UsageException($"invalid duration \"{text}\": must be positive");
        return total;
    }
}
