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
        bool detach = inv.Bool("detach");
        // Without a console socket, a foreground run with a terminal attaches the caller's tty:
        // init sends the pty master to our end of this socketpair.
        int[] pair = [-1, -1];
        if (!detach && o.ConsoleSocket is null)
        {
            unsafe { fixed (int* p = pair) if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, p) != 0) throw new RuncsException($"socketpair: {Libc.LastError()}"); }
            o = new CreateOptions
            {
                Id = o.Id, Bundle = o.Bundle, PidFile = o.PidFile, NoPivot = o.NoPivot, NoNewKeyring = o.NoNewKeyring,
                PreserveFds = o.PreserveFds, ConsoleFd = pair[1],
            };
        }
        var (state, pid) = Creator.Create(inv.Global, o);
        Terminal.ConsoleProxy? proxy = null;
        if (pair[0] >= 0)
        {
            Libc.close(pair[1]);
            if (state.Config?.Process?.Terminal == true)
            {
                int master = FdPassing.Receive(pair[0], out _);
                if (master < 0) throw new RuncsException("the container did not send its console");
                proxy = new Terminal.ConsoleProxy(master);
            }
            Libc.close(pair[0]);
        }
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
            proxy?.Dispose();
            proxy = null;
            if (!inv.Bool("keep"))
            {
                try { DeleteCommand.Delete(store, o.Id, force: true); }
                catch (RuncsException e) { Log.Warn($"deleting container {o.Id}: {e.Message}"); }
            }
            return code;
        }
        finally
        {
            proxy?.Dispose();
            foreach (var r in regs) r.Dispose();
        }
    }
}
