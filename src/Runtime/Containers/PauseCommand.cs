using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>`runcs pause ID` / `runcs resume ID`: the cgroup freezer, waiting until the kernel says frozen.</summary>
public static class PauseCommand
{
    public static int Pause(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        using var lk = store.Lock(id);
        var s = store.Load(id);
        var status = StatusDeriver.Derive(s, store.Dir(id));
        if (status != Status.Running) throw new RuncsException($"cannot pause container {id}: it is {status}, not running");
        ContainerCgroups.Of(s).Freeze();
        return 0;
    }

    public static int Resume(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        using var lk = store.Lock(id);
        var s = store.Load(id);
        var status = StatusDeriver.Derive(s, store.Dir(id));
        if (status != Status.Paused) throw new RuncsException($"cannot resume container {id}: it is {status}, not paused");
        ContainerCgroups.Of(s).Thaw();
        return 0;
    }
}
