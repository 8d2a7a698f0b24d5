using System.Globalization;
using Runcs.Cli;
using Runcs.Seccomp;

namespace Runcs.Containers;

/// <summary>
/// `runcs seccomp compile FILE` prints the BPF program runcs builds (disassembly and statistics);
/// `runcs seccomp check FILE SYSCALL [ARGS...] [--arch A]` prints the action the filter takes.
/// FILE is a config.json (its linux.seccomp) or a bare profile; "-" reads standard input.
/// </summary>
public static class SeccompCommand
{
    public static int Run(Invocation inv)
    {
        var sub = inv.Args[0];
        try
        {
            switch (sub)
            {
                case "compile":
                    if (inv.Args.Count != 2) throw new UsageException("usage: runcs seccomp compile <config.json|profile.json|->");
                    SeccompTool.Compile(Read(inv.Args[1]), Console.Out);
                    return 0;
                case "check":
                    if (inv.Args.Count < 3) throw new UsageException("usage: runcs seccomp check <profile> <syscall> [args...] [--arch A]");
                    var args = inv.Args.Skip(3).Select(ParseArg).ToArray();
                    if (args.Length > 6) throw new UsageException("a syscall has at most 6 arguments");
                    SeccompTool.Check(Read(inv.Args[1]), inv.Args[2], args, inv.Get("arch"), Console.Out);
                    return 0;
                default:
                    throw new UsageException($"unknown seccomp subcommand \"{sub}\" (compile or check)");
            }
        }
        catch (SeccompException e)
        {
            throw new RuncsException(e.Message);
        }
    }

    private static string Read(string file)
    {
        try { return file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new RuncsException($"reading {file}: {e.Message}"); }
    }

    private static ulong ParseArg(string s)
    {
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && ulong.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)) return hex;
        if (s.StartsWith('-') && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var neg)) return unchecked((ulong)neg);
        if (ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var dec)) return dec;
        throw new UsageException($"invalid syscall argument \"{s}\" (decimal, -N or 0xHEX)");
    }
}
