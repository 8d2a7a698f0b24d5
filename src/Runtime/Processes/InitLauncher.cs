using System.Text;
using System.Text.Json;
using Runcs.Init;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Processes;

/// <summary>
/// Starts a container's init following DESIGN.md's process model: plan in the parent, raw
/// clone(), restricted stage 1 (join/create namespaces, id mappings, cgroup placement),
/// clone(CLONE_PARENT) stage 2 = pid 1, which execs `runcs init` from a write-protected view of the binary (SelfCopy).
/// The parent then hands init its instructions over the sync socket and serves it until init
/// reports it is ready (blocked on exec.fifo).
/// </summary>
public sealed unsafe class InitLauncher : IDisposable
{
    public const string SyncFdEnv = "_RUNCS_SYNC_FD";
    private const int CLONE_PARENT = 0x00008000;

    public int Stage1Pid { get; private set; }
    public int InitPid { get; private set; }
    public SyncChannel? Channel { get; private set; }

    private readonly List<int> _fdsToClose = new();

    /// <summary>What the parent must do while stage 1 waits: place it in cgroups, write id maps.</summary>
    public required Action<int> PlaceInCgroup { get; init; }
    public required Config Config { get; init; }
    public int ExtraFds { get; init; }
    /// <summary>A connected console socket for init (process.terminal), or -1.</summary>
    public int ConsoleFd { get; init; } = -1;

    /// <summary>Where init finds the console socket: right after the sync socket.</summary>
    public int ConsoleTarget => ConsoleFd >= 0 ? 4 + ExtraFds : -1;

    /// <summary>The log destination opened by the parent (init may not be able to open it itself), or -1.</summary>
    public int LogFd { get; init; } = -1;
    public int LogTarget => LogFd >= 0 ? 5 + ExtraFds : -1;

    /// <summary>Launches stages 1 and 2; returns when init's pid is known and stage 1 has exited.</summary>
    public void Launch()
    {
        var l = Config.Linux;
        var namespaces = l?.Namespaces ?? new List<Namespace>();
        int[] sv = new int[2];
        fixed (int* p = sv)
            if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, p) != 0)
                throw new RuncsException($"creating the sync socket: {Libc.LastError()}");
        int parentFd = sv[0], childFd = MoveAbove(sv[1], 6 + ExtraFds);
        // Only the moved copy of the child's end may stay open here: a second copy in the CLI would
        // keep the socket from reporting EOF when init dies.
        if (childFd != sv[1]) Libc.close(sv[1]);
        _fdsToClose.Add(childFd);
        Channel = new SyncChannel(parentFd);

        int exeFd = SelfCopy.Create();
        _fdsToClose.Add(exeFd);
        Log.Phase($"runcs binary sealed ({SelfCopy.LastMethod})");

        // Every fd the stages use, opened (and moved clear of the fixed targets) before planning.
        var joinOrder = namespaces.Where(n => !string.IsNullOrEmpty(n.Path))
            .OrderBy(n => n.Type == "user" ? 0 : n.Type == "mount" ? 2 : 1).ToList();
        var nsFds = new List<int>();
        foreach (var ns in joinOrder)
        {
            int fd = Libc.open(ns.Path!, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0) throw new RuncsException($"opening {ns.Type} namespace {ns.Path}: {Libc.LastError()}");
            _fdsToClose.Add(fd);
            nsFds.Add(fd);
        }
        int consoleFd = ConsoleFd >= 0 ? MoveAbove(ConsoleFd, 6 + ExtraFds) : -1;
        if (consoleFd >= 0 && consoleFd != ConsoleFd) _fdsToClose.Add(consoleFd);
        int logFd = LogFd >= 0 ? MoveAbove(LogFd, 6 + ExtraFds) : -1;
        if (logFd >= 0 && logFd != LogFd) _fdsToClose.Add(logFd);
        var keep = new List<int>(nsFds) { childFd, exeFd };
        if (consoleFd >= 0) keep.Add(consoleFd);
        if (logFd >= 0) keep.Add(logFd);

        using var plan = new LaunchPlan();
        // A clone of the host runcs: not dumpable, so no container process can open /proc/<pid>/exe
        // of it (CVE-2019-5736); the exec of init resets this.
        plan.Syscall(SysNr.prctl, "making the setup process non-dumpable", 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
        // Drop the CLI's other fds (its end of the sync socket, the state lock): if the CLI dies,
        // the stages see EOF and exit instead of blocking a later `delete --force` for ever.
        plan.CloseAllExcept(keep, 3 + ExtraFds, "closing the runtime's other file descriptors");
        plan.WaitByte((byte)'G', "waiting to be placed in the container's cgroup");

        // Join namespaces given by path: user first (it decides what the others may do), mount last.
        for (int i = 0; i < joinOrder.Count; i++)
        {
            var ns = joinOrder[i];
            int flag = Tables.Namespaces[Tables.NamespaceIndex(ns.Type)].CloneFlag;
            plan.Syscall(SysNr.setns, $"joining {ns.Type} namespace {ns.Path}", nsFds[i], flag);
        }

        bool newUser = namespaces.Any(n => n.Type == "user" && string.IsNullOrEmpty(n.Path));
        if (newUser)
        {
            plan.Syscall(SysNr.unshare, "creating the user namespace", Tables.Namespaces[0].CloneFlag);
            plan.Report(SyncKind.UsernsReady, "asking for uid/gid mappings");
            plan.WaitByte((byte)'M', "waiting for uid/gid mappings");
            plan.Syscall(SysNr.setresgid, "becoming gid 0 in the user namespace", 0, 0, 0);
            plan.Syscall(SysNr.setresuid, "becoming uid 0 in the user namespace", 0, 0, 0);
        }
        int rest = 0;
        var restNames = new List<string>();
        foreach (var ns in namespaces)
        {
            if (!string.IsNullOrEmpty(ns.Path) || ns.Type == "user") continue;
            rest |= Tables.Namespaces[Tables.NamespaceIndex(ns.Type)].CloneFlag;
            restNames.Add(ns.Type);
        }
        if (rest != 0) plan.Syscall(SysNr.unshare, $"creating namespaces ({string.Join(", ", restNames)})", rest);
        if (l?.TimeOffsets is { Count: > 0 } offsets && restNames.Contains("time"))
        {
            var sb = new StringBuilder();
            foreach (var (clock, off) in offsets)
                sb.Append(clock).Append(' ').Append(off.Secs).Append(' ').Append(off.Nanosecs).Append('\n');
            plan.WriteFile("/proc/self/timens_offsets", Encoding.ASCII.GetBytes(sb.ToString()), "writing time namespace offsets");
        }
        int clone = plan.Clone(CLONE_PARENT | Libc.SIGCHLD, 2, "starting the container's init process");
        plan.Report(SyncKind.Pid, "reporting init's pid");
        plan.Exit(0, "stage 1 exit");

        // Stage 2: pid 1 of the container. Give init the sync socket at a known fd, exec runcs init.
        // Every source fd was moved above the targets, so no dup3 can clobber another.
        int syncTarget = 3 + ExtraFds;
        int stage2 = plan.Syscall(SysNr.dup3, "passing the sync socket to init", childFd, syncTarget, 0);
        if (consoleFd >= 0) plan.Syscall(SysNr.dup3, "passing the console socket to init", consoleFd, ConsoleTarget, 0);
        if (logFd >= 0) plan.Syscall(SysNr.dup3, "passing the log to init", logFd, LogTarget, 0);
        plan.SetCloneTarget(clone, stage2);
        byte** argv = plan.CStringArray(["runcs", "init"]);
        // A gen0 budget (hex, 64 MiB) large enough that init never collects: the instructions of a
        // config with thousands of annotations are megabytes. NativeAOT reads this GC setting from
        // the environment only (an embedded runtime knob is ignored), and init's environment is
        // ours: the container's process gets the config's env, not this.
        byte** envp = plan.CStringArray([$"{SyncFdEnv}={syncTarget}", "DOTNET_GCgen0size=4000000"]);
        plan.ExecveAt(exeFd, argv, envp, "executing runcs init from its write-protected view");

        Log.Phase("launch planned");
        long pid = CloneSequencer(plan, childFd);
        if (pid < 0) throw new RuncsException($"clone: {Libc.StrError((int)-pid)}");
        Stage1Pid = (int)pid;
        Libc.close(childFd);
        _fdsToClose.Remove(childFd);

        Log.Phase("stage 1 cloned");
        PlaceInCgroup(Stage1Pid);
        Log.Phase("cgroups joined");
        try { Channel.SendRawByte((byte)'G'); }
        catch (RuncsException e) { throw new RuncsException($"{e.Message} ({ExitOf(Stage1Pid, "container setup process")})"); }
        ServeStage1(plan, newUser);
    }

    /// <summary>A close-on-exec duplicate of <paramref name="fd"/> numbered at least <paramref name="min"/>.</summary>
    private static int MoveAbove(int fd, int min)
    {
        if (fd >= min) return fd;
        int d = Libc.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, min);
        if (d < 0) throw new RuncsException($"duplicating fd {fd}: {Libc.LastError()}");
        return d;
    }

    /// <summary>
    /// Raw clone(); the child runs the restricted sequencer over the plan as stage 1 and never
    /// returns. Returns the child's pid (or -errno) in the parent.
    /// </summary>
    internal static long CloneSequencer(LaunchPlan plan, int childFd, long cloneFlags = Libc.SIGCHLD)
    {
        Step* steps = plan.Native;
        int count = plan.Count;
        RawSyscalls.Warmup();
        // No GC region here: TryStartNoGCRegion performs a full blocking collection (and leaves the
        // allocation budget spent, so the next allocations collect again) — two GCs per create. The
        // child needs none of it: it runs only the sequencer, which never allocates, never polls for
        // a GC (SuppressGCTransition calls only) and never returns from this frame (exit_group), so
        // a suspension requested in the parent at the instant of the fork (trap flag set, or this
        // frame's return address hijacked) is never observed in the child; the parent just
        // completes it when the clone returns. The plan lives in unmanaged memory, so a collection
        // moving objects around the fork cannot disturb what the child reads.
        long pid = RawSyscalls.Invoke(SysNr.clone, cloneFlags, 0, 0, 0, 0, 0);
        if (pid == 0)
        {
            var kernel = new KernelSyscalls();
            Sequencer.Run(ref kernel, steps, count, 0, 1, childFd);
            RawSyscalls.Invoke(SysNr.exit_group, 127);
        }
        return pid;
    }

    private void ServeStage1(LaunchPlan plan, bool newUser)
    {
        while (InitPid == 0)
        {
            var msg = Channel!.Receive() ?? throw new RuncsException(DescribeEarlyExit());
            var h = msg.Header;
            switch (h.Kind)
            {
                case SyncKind.SequencerError:
                    throw new RuncsException($"{plan.Describe(h.Step)}: {Libc.StrError((int)h.Value)}");
                case SyncKind.UsernsReady:
                    WriteIdMappings(Stage1Pid);
                    Channel.SendRawByte((byte)'M');
                    break;
                case SyncKind.Pid:
                    InitPid = (int)h.Value;
                    break;
                default:
                    throw new RuncsException($"sync protocol error: unexpected message {h.Kind} from stage {h.Stage}");
            }
        }
        var st = Libc.Wait(Stage1Pid);
        Stage1Pid = 0;
        if (st is { } s && s != 0) throw new RuncsException($"stage 1 failed with status {Libc.ExitCode(s)}");
    }

    private string DescribeEarlyExit()
    {
        if (Stage1Pid > 0 && Libc.Wait(Stage1Pid) is { } s)
        {
            Stage1Pid = 0;
            return $"container setup process exited unexpectedly (status {Libc.ExitCode(s)})";
        }
        return "container setup process exited unexpectedly";
    }

    private void WriteIdMappings(int pid)
    {
        var l = Config.Linux!;
        static string Lines(List<IdMapping>? m) =>
            m is null ? "" : string.Concat(m.Select(x => $"{x.ContainerID} {x.HostID} {x.Size}\n"));
        try
        {
            if (l.GidMappings is { Count: > 0 }) File.WriteAllText($"/proc/{pid}/gid_map", Lines(l.GidMappings));
            if (l.UidMappings is { Count: > 0 }) File.WriteAllText($"/proc/{pid}/uid_map", Lines(l.UidMappings));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuncsException($"writing uid/gid mappings of the user namespace: {e.Message}");
        }
    }

    /// <summary>Sends init its instructions.</summary>
    public void SendInstructions(InitInstructions ins)
    {
        var bytes = Spec.ModelCodec.Serialize(ins, Spec.ModelCodec.WriteInitInstructions);
        try { Channel!.Send(SyncKind.Instructions, bytes.Span); }
        catch (RuncsException e) { throw new RuncsException($"{e.Message} ({ExitOf(InitPid, "container init")})"); }
    }

    /// <summary>How a child that went away ended, for error messages ("container init was killed by signal 15").</summary>
    private static unsafe string ExitOf(int pid, string what)
    {
        if (pid <= 0) return $"{what} is gone";
        int status;
        for (int i = 0; i < 20; i++)
        {
            if (Libc.waitpid(pid, &status, Libc.WNOHANG | Libc.__WALL) == pid)
                return (status & 0x7f) != 0 ? $"{what} was killed by signal {status & 0x7f}" : $"{what} exited with status {(status >> 8) & 0xff}";
            Thread.Sleep(10);
        }
        return $"{what} (pid {pid}) stopped reading";
    }

    /// <summary>Kills and reaps whatever was started (rollback after a failure).</summary>
    public void KillAll()
    {
        if (Stage1Pid > 0) { Libc.kill(Stage1Pid, Libc.SIGKILL); Libc.Wait(Stage1Pid); Stage1Pid = 0; }
        if (InitPid > 0) { Libc.kill(InitPid, Libc.SIGKILL); Libc.Wait(InitPid); }
    }

    public void Dispose()
    {
        foreach (var fd in _fdsToClose) Libc.close(fd);
        _fdsToClose.Clear();
        Channel?.Dispose();
    }
}
