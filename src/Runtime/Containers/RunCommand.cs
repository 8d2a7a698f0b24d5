using System.Runtime.InteropServices;
using Runcs.Cli;
using Runcs.Linux;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>
/// `runcs run ID`: create + start, then (unless --detach) wait for the container's pid 1,
/// forwarding the signals runcs receives to it, and exit with its status (128+N if killed by
/// signal N); the container is deleted afterwards unless --keep.
/// </summary>
public static class RunCommand
{
    private static readonly int[] Forwarded = [1, 2, 3, 10, 12, 15, 28];

    public static int Run(Invocation inv)
    {
        var o = CreateCommand.Options(inv);
        var store = new StateStore(inv.Global.Root);
        var (state, pid) = Creator.Create(inv.Global, o);
        bool detach = inv.Bool("detach");
        var regs = new List<PosixSignalRegistration>();
        if (!detach)
            foreach (var sig in Forwarded)
                regs.Add(PosixSignalRegistration.Create((PosixSignal)sig, ctx =>
                {
                    ctx.Cancel = true;
                    Libc.kill(pid, sig);
                }));
        try
        {
            try { Lifecycle.Start(store, o.Id); }
            catch (RuncsException)
            {
                try { DeleteCommand.Delete(store, o.Id, force: true); } catch (RuncsException e) { Log.Warn(e.Message); }
                throw;
            }
            if (detach) return 0;
            int code = Libc.Wait(pid) is { } st ? Libc.ExitCode(st) : 0;
            if (!inv.Bool("keep"))
            {
                try { DeleteCommand.Delete(store, o.Id, force: true); }
                catch (RuncsException e) { Log.Warn($"deleting container {o.Id}: {e.Message}"); }
            }
            return code;
        }
        finally
        {
            foreach (var r in regs) r.Dispose();
        }
    }
}
