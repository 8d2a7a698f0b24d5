using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>`runcs delete [--force] ID`: removes a stopped (or created) container; --force kills it first.</summary>
public static class DeleteCommand
{
    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        bool force = inv.Bool("force");
        if (!store.Exists(id))
        {
            if (force) return 0; // runc: deleting a missing container with --force is not an error
            throw new RuncsException($"container does not exist: {id}");
        }
        Delete(store, id, force);
        return 0;
    }

    public static void Delete(StateStore store, string id, bool force)
    {
        using var lk = store.Lock(id);
        StoredState s;
        try { s = store.Load(id); }
        catch (RuncsException) when (force)
        {
            // A create that crashed before writing its state: nothing but the directory to remove.
            store.RemoveDir(id);
            return;
        }
        var status = StatusDeriver.Derive(s, store.Dir(id));
        if (status is Status.Running or Status.Paused && !force)
            throw new RuncsException($"cannot delete container {id} that is not stopped: {status}");
        if (status != Status.Stopped)
        {
            // A created container is deleted like runc does: its init is killed.
            Lifecycle.Signal(s, 9);
            // A frozen task ignores SIGKILL until it is thawed (cgroup v1).
            if (status == Status.Paused && s.CgroupPaths is { Count: > 0 }) ContainerCgroups.Of(s).Thaw();
            if (!Lifecycle.WaitGone(s, 10_000)) throw new RuncsException($"container {id} init (pid {s.Pid}) did not die after SIGKILL");
        }
        Lifecycle.Destroy(store, s);
    }
}
