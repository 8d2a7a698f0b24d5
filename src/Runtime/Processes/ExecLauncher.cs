using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Processes;

/// <summary>
/// Starts a process inside a running container entirely on the restricted path (DESIGN.md): the
/// container's mount namespace has no host libc, so nothing is re-executed there. Stage 1 joins
/// the container's namespaces (opened by the parent from /proc/&lt;init&gt;/ns), clones stage 2
/// into its pid namespace, and stage 2 applies cwd, rlimits, no_new_privs, capabilities,
/// credentials, umask, fd cleanup, signal reset and seccomp, then execs the first PATH candidate
/// that exists. The parent learns of success by EOF on the sync socket (closed on exec).
/// </summary>
public sealed unsafe class ExecLauncher : IDisposable
{
    private const int CLONE_PARENT = 0x00008000;
    private const int PR_SET_NO_NEW_PRIVS = 38, PR_CAPBSET_DROP = 24, PR_SET_KEEPCAPS = 8, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2;

    public required Process Process { get; init; }
    /// <summary>Namespace files of the container's init, by spec type, to join (user first, mount last).</summary>
    public required List<(string Type, string Path)> Namespaces { get; init; }
    public required List<string> Env { get; init; }
    public required Action<int> PlaceInCgroup { get; init; }
    public int ExtraFds { get; init; }
    /// <summary>A pty slave from the container's devpts to become stdio and controlling tty, or -1.</summary>
    public int ConsoleSlave { get; init; } = -1;
    public byte[]? SeccompProgram { get; init; }
    public uint SeccompFlags { get; init; }

    public int Pid { get; private set; }
    private int _stage1;
    private SyncChannel? _ch;
    private readonly List<int> _fds = new();
    private LaunchPlan? _plan;
    private int _execStep = -1;

    public void Launch()
    {
        int[] sv = new int[2];
        fixed (int* p = sv)
            if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, p) != 0)
                throw new RuncsException($"creating the sync socket: {Libc.LastError()}");
        _ch = new SyncChannel(sv[0]);
        int childFd = sv[1];
        _fds.Add(childFd);
        var ordered = Namespaces.OrderBy(n => n.Type == "user" ? 0 : n.Type == "mount" ? 2 : 1).ToList();
        var nsFds = new List<int>();
        foreach (var (type, path) in ordered)
        {
            int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0) throw new RuncsException($"opening the container's {type} namespace {path}: {Libc.LastError()}");
            _fds.Add(fd);
            nsFds.Add(fd);
        }
        var plan = _plan = new LaunchPlan();
        // A clone of the host runcs: while it is visible in the container's pid namespace it must
        // not be dumpable, or a container process could open /proc/<pid>/exe, the host binary
        // (CVE-2019-5736). execve of the user's program resets it.
        plan.Syscall(SysNr.prctl, "making the exec process non-dumpable", 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
        var keep = new List<int>(nsFds) { childFd };
        if (ConsoleSlave >= 0) keep.Add(ConsoleSlave);
        // Only the fds the stages need: no host directory fd may survive to a chdir (CVE-2024-21626),
        // and a killed CLI must leave no stage blocked on its socket.
        plan.CloseAllExcept(keep, 3 + ExtraFds, "closing the runtime's other file descriptors");
        plan.WaitByte((byte)'G', "waiting to be placed in the container's cgroup");
        for (int i = 0; i < ordered.Count; i++)
            plan.Syscall(SysNr.setns, $"joining the container's {ordered[i].Type} namespace", nsFds[i], Tables.Namespaces[Tables.NamespaceIndex(ordered[i].Type)].CloneFlag);
        int clone = plan.Clone(CLONE_PARENT | Libc.SIGCHLD, 2, "starting the process in the container's pid namespace");
        plan.Report(SyncKind.Pid, "reporting the process's pid");
        plan.Exit(0, "stage 1 exit");
        int first = AddStage2(plan);
        plan.SetCloneTarget(clone, first);

        long pid = InitLauncher.CloneSequencer(plan, childFd);
        if (pid < 0) throw new RuncsException($"clone: {Libc.StrError((int)-pid)}");
        _stage1 = (int)pid;
        Libc.close(childFd);
        _fds.Remove(childFd);
        PlaceInCgroup(_stage1);
        _ch.SendRawByte((byte)'G');

        // Stage 1 reports the pid; then EOF means stage 2 exec'd (its socket end is close-on-exec).
        while (true)
        {
            var msg = _ch.Receive();
            if (msg is null) break;
            var h = msg.Value.Header;
            if (h.Kind == SyncKind.Pid) { Pid = (int)h.Value; continue; }
            if (h.Kind == SyncKind.SequencerError) throw new RuncsException(Describe(h.Step, (int)h.Value));
            throw new RuncsException($"sync protocol error: unexpected message {h.Kind}");
        }
        if (Libc.Wait(_stage1) is { } st && st != 0 && Pid == 0)
            throw new RuncsException($"joining the container failed (status {Libc.ExitCode(st)})");
        _stage1 = 0;
        if (Pid == 0) throw new RuncsException("the exec'd process did not start");
    }

    private string Describe(int step, int errno)
    {
        if (step == _execStep && errno == 2)
            return $"exec: \"{Process.Args![0]}\": executable file not found in $PATH";
        return $"{_plan!.Describe(step)}: {Libc.StrError(errno)}";
    }

    /// <summary>The restricted finalize of stage 2, as precomputed steps.</summary>
    private int AddStage2(LaunchPlan plan)
    {
        var p = Process;
        int first = plan.Syscall(SysNr.setsid, "creating a session", flags: StepFlags.IgnoreError);
        if (ConsoleSlave >= 0)
        {
            plan.Syscall(SysNr.ioctl, "making the pty the controlling terminal", ConsoleSlave, Terminal.Pty.TIOCSCTTY, 0);
            for (int fd = 0; fd <= 2; fd++) plan.Syscall(SysNr.dup3, $"connecting fd {fd} to the pty", ConsoleSlave, fd, 0);
        }
        plan.Syscall(SysNr.chdir, $"chdir to cwd {p.Cwd}", (long)plan.CString(p.Cwd));
        plan.CheckCwd($"cwd {p.Cwd} is outside the container");
        foreach (var rl in p.Rlimits ?? [])
        {
            ulong* lim = (ulong*)plan.Alloc(16);
            lim[0] = rl.Soft; lim[1] = rl.Hard;
            plan.Syscall(SysNr.prlimit64, $"setting rlimit {rl.Type} soft={rl.Soft} hard={rl.Hard}", 0, Tables.RlimitNumber(rl.Type), (long)lim, 0);
        }
        if (p.NoNewPrivileges) plan.Syscall(SysNr.prctl, "setting no_new_privs", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        bool seccompEarly = SeccompProgram is { Length: > 0 } && !p.NoNewPrivileges;
        if (seccompEarly) AddSeccomp(plan);
        var caps = p.Capabilities;
        ulong bounding = Tables.CapabilityMask(caps?.Bounding), eff = Tables.CapabilityMask(caps?.Effective), perm = Tables.CapabilityMask(caps?.Permitted),
            inh = Tables.CapabilityMask(caps?.Inheritable), amb = Tables.CapabilityMask(caps?.Ambient);
        for (int c = 0; c <= Tables.LastCap; c++)
            if ((bounding & (1UL << c)) == 0)
                plan.Syscall(SysNr.prctl, $"dropping {Tables.Capabilities[c]} from the bounding set", PR_CAPBSET_DROP, c, 0, 0, 0);
        plan.Syscall(SysNr.prctl, "setting keep-caps", PR_SET_KEEPCAPS, 1, 0, 0, 0);
        var gids = p.User.AdditionalGids ?? [];
        uint* g = (uint*)plan.Alloc(4 * Math.Max(1, gids.Count));
        for (int i = 0; i < gids.Count; i++) g[i] = gids[i];
        // In a user namespace with setgroups denied, an empty list is the only possible (and current) one.
        plan.Syscall(SysNr.setgroups, "setting supplementary groups", gids.Count, (long)g, flags: gids.Count == 0 ? StepFlags.IgnoreError : StepFlags.None);
        plan.Syscall(SysNr.setresgid, $"setting gid {p.User.Gid}", p.User.Gid, p.User.Gid, p.User.Gid);
        plan.Syscall(SysNr.setresuid, $"setting uid {p.User.Uid}", p.User.Uid, p.User.Uid, p.User.Uid);
        plan.Syscall(SysNr.prctl, "clearing keep-caps", PR_SET_KEEPCAPS, 0, 0, 0, 0);
        uint* hdr = (uint*)plan.Alloc(8);
        hdr[0] = 0x20080522;
        uint* data = (uint*)plan.Alloc(24);
        data[0] = (uint)eff; data[1] = (uint)perm; data[2] = (uint)inh;
        data[3] = (uint)(eff >> 32); data[4] = (uint)(perm >> 32); data[5] = (uint)(inh >> 32);
        plan.Syscall(SysNr.capset, "setting capabilities", (long)hdr, (long)data);
        for (int c = 0; c <= Tables.LastCap; c++)
            if ((amb & (1UL << c)) != 0)
                plan.Syscall(SysNr.prctl, $"raising ambient {Tables.Capabilities[c]}", PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0, flags: StepFlags.IgnoreError);
        plan.Syscall(SysNr.umask, "setting umask", p.User.Umask ?? 0x12);
        for (int fd = 3; fd < 3 + ExtraFds; fd++)
            plan.Syscall(SysNr.fcntl, $"keeping fd {fd}", fd, Libc.F_SETFD, 0);
        plan.Syscall(SysNr.close_range, "marking inherited fds close-on-exec", 3 + ExtraFds, uint.MaxValue, 4 /* CLOSE_RANGE_CLOEXEC */);
        ulong* sa = (ulong*)plan.Alloc(32);
        for (int sig = 1; sig <= 64; sig++)
            if (sig is not (9 or 19))
                plan.Syscall(SysNr.rt_sigaction, "resetting signal handlers", sig, (long)sa, 0, 8, flags: StepFlags.IgnoreError);
        ulong* empty = (ulong*)plan.Alloc(8);
        plan.Syscall(SysNr.rt_sigprocmask, "unblocking signals", 2, (long)empty, 0, 8);
        if (SeccompProgram is { Length: > 0 } && !seccompEarly) AddSeccomp(plan);
        var argv = plan.CStringArray(p.Args!);
        var envp = plan.CStringArray(Env);
        _execStep = plan.ExecveCandidates(Candidates(p.Args![0], Env, p.Cwd), argv, envp, $"exec {p.Args[0]}");
        return first;
    }

    private void AddSeccomp(LaunchPlan plan)
    {
        var prog = SeccompProgram!;
        byte* filter = plan.Bytes(prog);
        byte* fprog = (byte*)plan.Alloc(16);
        *(ushort*)fprog = (ushort)(prog.Length / 8);
        *(byte**)(fprog + 8) = filter;
        plan.Syscall(SysNr.seccomp, "installing the seccomp filter", 1 /* SECCOMP_SET_MODE_FILTER */, SeccompFlags, (long)fprog);
    }

    /// <summary>Where execvp would look: the name itself if it has a slash, else each $PATH entry.</summary>
    public static List<string> Candidates(string name, List<string> env, string cwd)
    {
        if (name.Contains('/')) return [name];
        string? path = null;
        foreach (var e in env) if (e.StartsWith("PATH=", StringComparison.Ordinal)) path = e[5..];
        var list = new List<string>();
        foreach (var dir in (path ?? "").Split(':', StringSplitOptions.None))
        {
            if (path is null) break;
            list.Add((dir.Length == 0 ? "." : dir.TrimEnd('/')) + "/" + name);
        }
        return list;
    }

    /// <summary>Waits for the exec'd process (our child via CLONE_PARENT) and returns its exit status.</summary>
    public int Wait() => Libc.Wait(Pid) is { } st ? Libc.ExitCode(st) : 0;

    public void KillAll()
    {
        if (_stage1 > 0) { Libc.kill(_stage1, Libc.SIGKILL); Libc.Wait(_stage1); _stage1 = 0; }
        if (Pid > 0) { Libc.kill(Pid, Libc.SIGKILL); Libc.Wait(Pid); }
    }

    public void Dispose()
    {
        foreach (var fd in _fds) Libc.close(fd);
        _fds.Clear();
        _ch?.Dispose();
        _plan?.Dispose();
    }
}
