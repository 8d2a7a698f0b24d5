using Runcs.Cli;
using Runcs.Linux;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>`runcs kill [--all] ID [SIGNAL]` (default SIGTERM; names with or without SIG, or numbers).</summary>
public static class KillCommand
{
    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        int sig = Tables.ParseSignal(inv.Args.Count > 1 ? inv.Args[1] : "SIGTERM");
        bool all = inv.Bool("all");
        var s = store.Load(id);
        var status = StatusDeriver.Derive(s, store.Dir(id));
        if (status == Status.Stopped)
        {
            if (all) return 0;
            throw new RuncsException($"container not running: {id}");
        }
        if (all) throw new RuncsException("kill --all needs the cgroup manager, which is not implemented in runcs yet");
        Lifecycle.Signal(s, sig);
        return 0;
    }
}
