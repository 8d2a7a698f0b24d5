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
        if (all && s.CgroupPaths is { Count: > 0 } paths)
        {
            // Every process of the container, frozen while signalled so none can fork away.
            ContainerCgroups.Factory.FromPaths(paths).SignalAll(sig);
            return 0;
        }
        Lifecycle.Signal(s, sig);
        // On cgroup v1 a frozen init does not die of SIGKILL until thawed: thaw a paused container (as runc does).
        if (sig == 9 && status == Status.Paused && s.CgroupPaths is { Count: > 0 }) ContainerCgroups.Of(s).Thaw();
        return 0;
    }
}
