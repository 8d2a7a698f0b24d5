using Runcs.Cli;

namespace Runcs.Containers;

/// <summary>`runcs create ID --bundle B [--pid-file F] [--no-pivot] [--no-new-keyring] [--preserve-fds N]`.</summary>
public static class CreateCommand
{
    public static int Run(Invocation inv)
    {
        Creator.Create(inv.Global, Options(inv));
        return 0;
    }

    public static CreateOptions Options(Invocation inv) => new()
    {
        Id = inv.Args[0],
        Bundle = inv.Get("bundle") ?? ".",
        PidFile = inv.Get("pid-file"),
        ConsoleSocket = inv.Get("console-socket"),
        NoPivot = inv.Bool("no-pivot"),
        NoNewKeyring = inv.Bool("no-new-keyring"),
        PreserveFds = inv.Int("preserve-fds", 0),
    };
}
