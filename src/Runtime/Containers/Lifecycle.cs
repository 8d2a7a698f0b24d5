using Runcs.Hooks;
using Runcs.Linux;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>Operations on an existing container shared by start, run, kill and delete.</summary>
public static unsafe class Lifecycle
{
    /// <summary>Releases a created container's init (opens exec.fifo), then runs poststart hooks.</summary>
    public static void Start(StateStore store, string id)
    {
        StoredState s;
        using (store.Lock(id))
        {
            s = store.Load(id);
            var status = StatusDeriver.Derive(s, store.Dir(id));
            switch (status)
            {
                case Status.Created: break;
                case Status.Stopped: throw new RuncsException($"cannot start a container that has stopped: {id}");
                default: throw new RuncsException($"cannot start an already running container: {id}");
            }
            var fifo = store.FifoPath(id);
            int fd = Libc.open(fifo, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            if (fd < 0) throw new RuncsException($"opening {fifo}: {Libc.LastError()}");
            try
            {
                var pfd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
                while (true)
                {
                    int r = Libc.poll(&pfd, 1, 100);
                    if (r > 0 && (pfd.Revents & Libc.POLLIN) != 0) break;
                    if (r < 0 && Libc.Errno != 4) throw new RuncsException($"waiting on {fifo}: {Libc.LastError()}");
                    if (ProcessInfo.StartTime(s.Pid) != s.PidStartTime)
                        throw new RuncsException($"container init of {id} exited before it could be started");
                    if (r > 0 && (pfd.Revents & (Libc.POLLHUP | Libc.POLLERR)) != 0)
                        throw new RuncsException($"container init of {id} closed {fifo} without starting");
                }
                byte b;
                nint n = Libc.read(fd, &b, 1);
                if (n != 1) throw new RuncsException($"container init of {id} did not confirm the start");
            }
            finally { Libc.close(fd); }
            Libc.unlink(fifo);
            s.Started = true;
            store.Save(s);
        }
        HookRunner.RunAllWarnOnly("poststart", s.Config?.Hooks?.Poststart, StatusDeriver.ToOci(s, Status.Running));
    }

    /// <summary>Sends a signal to init through a pidfd checked against the recorded start time (no pid-reuse race).</summary>
    public static void Signal(StoredState s, int sig)
    {
        long pidfd = RawSyscalls.Invoke(SysNr.pidfd_open, s.Pid, 0);
        if (pidfd < 0) throw new RuncsException("container not running");
        try
        {
            if (ProcessInfo.StartTime(s.Pid) != s.PidStartTime) throw new RuncsException("container not running");
            long r = RawSyscalls.Invoke(SysNr.pidfd_send_signal, pidfd, sig, 0, 0);
            if (r < 0 && r != -3 /* ESRCH: it just exited */)
                throw new RuncsException($"sending signal {sig} to the container's init (pid {s.Pid}): {Libc.StrError((int)-r)}");
        }
        finally { Libc.close((int)pidfd); }
    }

    /// <summary>Waits until init is gone (exited, or a zombie); true if it went within the timeout.</summary>
    public static bool WaitGone(StoredState s, int timeoutMs)
    {
        long pidfd = RawSyscalls.Invoke(SysNr.pidfd_open, s.Pid, 0);
        if (pidfd < 0) return true;
        try
        {
            if (ProcessInfo.StartTime(s.Pid) != s.PidStartTime) return true;
            var pfd = new Libc.PollFd { Fd = (int)pidfd, Events = Libc.POLLIN };
            var deadline = Environment.TickCount64 + timeoutMs;
            while (true)
            {
                int left = (int)Math.Max(0, deadline - Environment.TickCount64);
                int r = Libc.poll(&pfd, 1, left);
                if (r > 0) return true;
                if (r == 0) return false;
                if (Libc.Errno != 4) return ProcessInfo.StartTime(s.Pid) != s.PidStartTime;
            }
        }
        finally { Libc.close((int)pidfd); }
    }

    /// <summary>Removes a stopped container: poststop hooks (warnings only), cgroups, state directory.</summary>
    public static void Destroy(StateStore store, StoredState s)
    {
        if (s.CgroupPaths is { Count: > 0 } paths)
            ContainerCgroups.Factory.FromPaths(paths).Destroy(kill: true);
        HookRunner.RunAllWarnOnly("poststop", s.Config?.Hooks?.Poststop, StatusDeriver.ToOci(s, Status.Stopped));
        store.RemoveDir(s.Id);
    }
}
