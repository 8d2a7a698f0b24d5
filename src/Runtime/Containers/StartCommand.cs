using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>`runcs start ID`: executes the user process of a created container.</summary>
public static class StartCommand
{
    public static int Run(Invocation inv)
    {
        Lifecycle.Start(new StateStore(inv.Global.Root), inv.Args[0]);
        return 0;
    }
}
