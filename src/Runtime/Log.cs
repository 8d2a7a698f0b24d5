using System.Text;
using System.Text.Json;

namespace Runcs;

public enum LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 }

/// <summary>
/// runc-compatible logging. Lines go to <c>--log</c> (default stderr) in logrus' text format
/// (<c>time="..." level=error msg="..."</c>) or, with <c>--log-format json</c>, one JSON object a
/// line (<c>{"level":"error","msg":"...","time":"..."}</c>): containerd shows the last error msg.
/// The file is opened lazily, in append mode, only when a line is written.
/// </summary>
public static class Log
{
    private static string? _path;
    private static bool _json;
    private static LogLevel _min = LogLevel.Info;
    private static Stream? _stream;

    public static bool ToStderr => Sink is null && _path is null or "" or "/dev/stderr";

    /// <summary>Where `runcs init` sends its lines (the sync socket, later its log fd) instead of stdio.</summary>
    public static Action<string>? Sink { get; set; }
    public static bool DebugEnabled => _min == LogLevel.Debug;
    public static bool Json => _json;
    public static string? Path => _path;

    public static void Configure(string? path, bool json, bool debug)
    {
        _path = path; _json = json; _min = debug ? LogLevel.Debug : LogLevel.Info;
        _stream = null;
    }

    public static void Debug(string msg) { if (_min <= LogLevel.Debug) Write(LogLevel.Debug, msg); }

    private static long _phaseTicks, _phaseBytes;

    /// <summary>
    /// With --debug, one line per step of a command: time and managed bytes allocated since the
    /// previous step (what the profile of a create looks like without a profiler).
    /// </summary>
    public static void Phase(string step)
    {
        if (_min > LogLevel.Debug) return;
        long now = System.Diagnostics.Stopwatch.GetTimestamp(), bytes = GC.GetAllocatedBytesForCurrentThread();
        if (_phaseTicks != 0)
            Write(LogLevel.Debug, $"phase {step}: {System.Diagnostics.Stopwatch.GetElapsedTime(_phaseTicks, now).TotalMilliseconds:F2} ms, {(bytes - _phaseBytes) >> 10} KiB");
        _phaseTicks = System.Diagnostics.Stopwatch.GetTimestamp();
        _phaseBytes = GC.GetAllocatedBytesForCurrentThread();
    }
    public static void Info(string msg) => Write(LogLevel.Info, msg);
    public static void Warn(string msg) => Write(LogLevel.Warn, msg);
    public static void Error(string msg) => Write(LogLevel.Error, msg);

    public static string Format(LogLevel level, string msg, DateTime utc, bool json)
    {
        string lvl = level switch { LogLevel.Debug => "debug", LogLevel.Info => "info", LogLevel.Warn => "warning", _ => "error" };
        string time = utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffK", System.Globalization.CultureInfo.InvariantCulture);
        if (json)
        {
            var sb = new StringBuilder(64 + msg.Length);
            sb.Append("{\"level\":\"").Append(lvl).Append("\",\"msg\":");
            sb.Append(JsonSerializer.Serialize(msg, RuncsJson.Default.String));
            sb.Append(",\"time\":\"").Append(time).Append("\"}\n");
            return sb.ToString();
        }
        return $"time=\"{time}\" level={lvl} msg={Quote(msg)}\n";
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static void Write(LogLevel level, string msg)
    {
        if (level < _min) return;
        var line = Format(level, msg, DateTime.UtcNow, _json);
        if (Sink is { } sink)
        {
            try { sink(line); } catch (Exception e) when (e is IOException or RuncsException) { }
            return;
        }
        Emit(line, reportFailure: true);
    }

    /// <summary>Writes a line that a child (init) already formatted, as is.</summary>
    public static void WriteRaw(string line) => Emit(line, reportFailure: false);

    /// <summary>The log destination: stderr, or the --log file opened once in append mode.</summary>
    private static void Emit(string line, bool reportFailure)
    {
        if (ToStderr) { Console.Error.Write(line); return; }
        try
        {
            _stream ??= new FileStream(_path!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            _stream.Write(Encoding.UTF8.GetBytes(line));
            _stream.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (reportFailure) Console.Error.Write($"runcs: cannot write log {_path}: {e.Message}\n{line}");
        }
    }
}
