namespace Runcs.Cli;

/// <summary>One flag of a command: <c>--name value</c>, <c>--name=value</c>, <c>-name</c>, aliases.</summary>
public sealed record FlagSpec(string Name, bool TakesValue, string Help, string[]? Aliases = null, string? ValueName = null, bool Repeatable = false)
{
    public IEnumerable<string> AllNames => Aliases is null ? [Name] : [Name, .. Aliases];
}

/// <summary>A command of runc's CLI: its flags, arity, help and handler.</summary>
public sealed record CommandSpec(
    string Name, string ArgsUsage, string Summary, string Description,
    FlagSpec[] Flags, int MinArgs, int MaxArgs, Func<Invocation, int> Handler, bool Hidden = false);

/// <summary>Runc's global options (before the command).</summary>
public sealed class GlobalOptions
{
    public string Root { get; set; } = "/run/runcs";
    public string? Log { get; set; }
    public string LogFormat { get; set; } = "text";
    public bool Debug { get; set; }
    public bool SystemdCgroup { get; set; }
    public string? Criu { get; set; }
    public bool Rootless { get; set; }
}

/// <summary>A parsed command invocation.</summary>
public sealed class Invocation
{
    public required GlobalOptions Global { get; init; }
    public required CommandSpec Command { get; init; }
    public Dictionary<string, List<string>> Flags { get; } = new();
    public List<string> Args { get; } = new();

    public bool Has(string name) => Flags.ContainsKey(name);
    public string? Get(string name) => Flags.TryGetValue(name, out var v) ? v[^1] : null;
    public IReadOnlyList<string> GetAll(string name) => Flags.TryGetValue(name, out var v) ? v : [];

    /// <summary>A boolean flag: present without value, or with an explicit true/false value.</summary>
    public bool Bool(string name)
    {
        if (!Flags.TryGetValue(name, out var v)) return false;
        var last = v[^1];
        return last switch
        {
            "" or "true" or "1" or "t" or "T" or "TRUE" or "True" => true,
            "false" or "0" or "f" or "F" or "FALSE" or "False" => false,
            _ => throw new UsageException($"invalid boolean value \"{last}\" for flag --{name}"),
        };
    }

    public int Int(string name, int dflt)
    {
        var s = Get(name);
        if (s is null) return dflt;
        if (!int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n))
            throw new UsageException($"invalid value \"{s}\" for flag --{name}: not an integer");
        return n;
    }
}

public sealed class UsageException : RuncsException
{
    public UsageException(string message) : base(message) { }
}

/// <summary>
/// Parses runc-style arguments: flags (<c>--f v</c>, <c>--f=v</c>, <c>-f v</c>) until the first
/// positional argument or <c>--</c>; everything after that is positional (so <c>exec ID ls -la</c>
/// keeps <c>-la</c> for the container's command), exactly as urfave/cli does for runc.
/// </summary>
public static class Parser
{
    public static int ParseFlags(string[] argv, int i, IReadOnlyList<FlagSpec> specs, Dictionary<string, List<string>> into, bool stopAtPositional, List<string>? positionals, string context)
    {
        while (i < argv.Length)
        {
            string a = argv[i];
            if (a == "--") { i++; if (positionals != null) while (i < argv.Length) positionals.Add(argv[i++]); break; }
            if (a.Length < 2 || a[0] != '-')
            {
                if (stopAtPositional || positionals == null) break;
                positionals.Add(a); i++; continue;
            }
            string body = a.StartsWith("--", StringComparison.Ordinal) ? a[2..] : a[1..];
            string? value = null;
            int eq = body.IndexOf('=');
            if (eq >= 0) { value = body[(eq + 1)..]; body = body[..eq]; }
            var spec = Find(specs, body) ?? throw new UsageException($"flag provided but not defined: -{body}{(context.Length > 0 ? " (" + context + ")" : "")}");
            i++;
            if (spec.TakesValue && value is null)
            {
                if (i >= argv.Length) throw new UsageException($"flag needs an argument: -{body}");
                value = argv[i++];
            }
            if (!into.TryGetValue(spec.Name, out var list)) into[spec.Name] = list = new List<string>();
            list.Add(value ?? "");
        }
        if (positionals != null) while (i < argv.Length) positionals.Add(argv[i++]);
        return i;
    }

    private static FlagSpec? Find(IReadOnlyList<FlagSpec> specs, string name)
    {
        foreach (var s in specs)
            foreach (var n in s.AllNames)
                if (n == name) return s;
        return null;
    }
}
