using System.Globalization;

namespace Runcs.State;

/// <summary>Reads what the kernel says of a process: liveness and start time (/proc/&lt;pid&gt;/stat).</summary>
public static class ProcessInfo
{
    /// <summary>
    /// Field 22 (starttime, clock ticks since boot) of /proc/&lt;pid&gt;/stat, or null if the process
    /// does not exist. Zombies count as gone: a container whose init is a zombie has stopped.
    /// </summary>
    public static ulong? StartTime(int pid, string procRoot = "/proc")
    {
        if (pid <= 0) return null;
        string? text;
        try { text = Linux.SmallFile.TryReadText(procRoot + "/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (text is null) return null;
        return ParseStat(text, out char state) is { } st && state != 'Z' && state != 'X' ? st : null;
    }

    /// <summary>Parses a stat line; the comm field may contain spaces and parentheses.</summary>
    public static ulong? ParseStat(string stat, out char state)
    {
        state = '?';
        int close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length) return null;
        var rest = stat[(close + 2)..].Split(' ');
        // rest[0] is field 3 (state); field 22 is rest[19].
        if (rest.Length < 20 || rest[0].Length == 0) return null;
        state = rest[0][0];
        return ulong.TryParse(rest[19], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}
