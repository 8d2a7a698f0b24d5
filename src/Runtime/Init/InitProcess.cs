using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Runcs.Hooks;
using Runcs.Linux;
using Runcs.Processes;
using Runcs.State;

namespace Runcs.Init;

/// <summary>
/// `runcs init`: the container's pid 1 until it execs the user's process. Started by runcs
/// itself from a write-protected view of its binary (SelfCopy), inside the container's namespaces. Reads its instructions
/// from the sync socket, builds the rootfs, asks the parent to run the runtime-namespace hooks,
/// runs createContainer hooks, enters the root, reports ready, waits on exec.fifo for `start`,
/// runs startContainer hooks and finalizes into execve. Never writes to its stdio (the
/// container's): errors go to the parent, or after `create` returned, to the --log file.
/// </summary>
public static class InitProcess
{
    /// <summary>Kept reachable: a collected registration would unregister its handler.</summary>
    private static readonly List<PosixSignalRegistration> SignalHandlers = new();

    public static int Run(string[] argv)
    {
        if (Environment.GetEnvironmentVariable(InitLauncher.SyncFdEnv) is not { } fdText || !int.TryParse(fdText, out int fd))
        {
            Console.Error.WriteLine("runcs: init must only be started by runcs itself");
            return 1;
        }
        var ch = new SyncChannel(fd);
        bool ready = false;
        // As pid 1 of its namespace, init ignores every signal it has no handler for, and .NET's own
        // SIGTERM handling ends by re-raising the signal, which is then ignored: `runcs kill` of a
        // created container would do nothing. Until the user's process is exec'd (which resets all
        // dispositions), a terminating signal ends init at once, as runc's init does.
        foreach (var sig in new[] { 1, 2, 3, 10, 12, 15 })
            SignalHandlers.Add(PosixSignalRegistration.Create((PosixSignal)sig, _ => RawSyscalls.Invoke(SysNr.exit_group, 128 + sig)));
        try
        {
            var msg = ch.Receive();
            if (msg is null || msg.Value.Header.Kind != SyncKind.Instructions) return 1;
            var ins = Spec.ModelCodec.FromUtf8(msg.Value.Payload, Spec.ModelCodec.ReadInitInstructions);
            var idmapFds = new Dictionary<int, int>();
            foreach (var index in ins.IdmapMounts ?? [])
            {
                int ufd = FdPassing.Receive(ch.Fd, out _, 1);
                if (ufd < 0) throw new RuncsException("the runtime did not pass the user namespace of an idmapped mount");
                idmapFds[index] = ufd;
            }
            Log.Configure(ins.LogPath, ins.LogJson, ins.Debug);
            Log.Sink = line => ch.SendText(SyncKind.InitLog, line);
            Log.Phase("init: instructions read");
            RawSyscalls.Invoke(SysNr.umask, 0);
            if (ins.Config.Process?.OomScoreAdj is { } oom)
                WriteProc("/proc/self/oom_score_adj", oom.ToString(System.Globalization.CultureInfo.InvariantCulture), "setting oom_score_adj");

            var fs = new Rootfs(LinuxSyscalls.Instance, ins) { IdmapUsernsFds = idmapFds };
            fs.Prepare();
            int rootFd = fs.OpenRoot();
            fs.MountAll(rootFd);
            Log.Phase("init: mounts");
            fs.SetupDevices(rootFd);
            if (ins.Config.Process is { } proc)
            {
                int cwdFd = fs.EnsureInRoot(rootFd, proc.Cwd, false, $"creating cwd {proc.Cwd}");
                long cwdType = LinuxSyscalls.Instance.FileType(cwdFd);
                LinuxSyscalls.Instance.Close(cwdFd);
                // Fail `create` (as runc does), not the exec after `start`, whose error only the log sees.
                if (cwdType >= 0 && cwdType != Mounts.S_IFDIR) throw new RuncsException($"cwd {proc.Cwd}: not a directory");
            }
            LinuxSyscalls.Instance.Close(rootFd);
            fs.SetNames();
            if (!ins.NoNewKeyring) JoinSessionKeyring(ins.Id);

            Log.Phase("init: devices, cwd, names");
            // prestart and createRuntime hooks run in the runtime's namespaces: the parent runs them.
            ch.Send(SyncKind.HookRequest);
            var done = ch.Receive() ?? throw new RuncsException("the runtime went away while running hooks");
            if (done.Header.Kind != SyncKind.HookDone) throw new RuncsException("sync protocol error while waiting for hooks");
            if (done.Payload.Length > 0) return 1; // the parent reports the hook failure itself

            var state = new OciState
            {
                Id = ins.Id, Pid = ins.HostPid, Status = Status.Creating, Bundle = ins.Bundle, Rootfs = ins.Rootfs,
                Created = ins.Created, Annotations = ins.Config.Annotations, Owner = "",
            };
            HookRunner.RunAll("createContainer", ins.Config.Hooks?.CreateContainer, state);

            int fifo = Libc.open(ins.FifoPath, Libc.O_PATH | Libc.O_CLOEXEC, 0);
            if (fifo < 0) throw new RuncsException($"opening {ins.FifoPath}: {Libc.LastError()}");
            // After `create` returns, errors go to the log the parent opened for us (--log), or to
            // stderr, runc's default log destination.
            int logFd = ins.LogFd >= 0 ? ins.LogFd : Libc.fcntl(2, 1030 /* F_DUPFD_CLOEXEC */, 3);
            if (ins.LogFd >= 0) Libc.fcntl(logFd, Libc.F_SETFD, Libc.FD_CLOEXEC);

            Log.Phase("init: hooks done");
            fs.EnterRoot();
            int consoleSlave = ins.ConsoleSocketFd >= 0 ? SetupConsole(ins) : -1;
            // As runc does: with a terminal the pty replaces the caller's stdio now, not at start.
            // containerd's shim (go-runc) reads `create`'s output to EOF; an init still holding
            // that pipe until `start` would hang the shim's Create forever.
            for (int sfd = 0; consoleSlave >= 0 && sfd <= 2; sfd++)
                if (RawSyscalls.Invoke(SysNr.dup3, consoleSlave, sfd, 0) is < 0 and var r)
                    throw new RuncsException($"connecting fd {sfd} to the console: {Libc.StrError((int)-r)}");
            fs.FinishInRoot();
            var fin = new Finalizer(ins) { ConsoleSlave = consoleSlave };
            fin.Prepare();
            if (ins.SeccompListener)
            {
                // runc's order: a notify filter is loaded during create, while the runtime is still
                // there to pass the listener to the agent.
                int listener = fin.InstallSeccompNow();
                ch.Send(SyncKind.SeccompListener);
                FdPassing.Send(ch.Fd, listener, "s"u8);
                Libc.close(listener);
                var ack = ch.Receive() ?? throw new RuncsException("the runtime went away while passing the seccomp listener");
                if (ack.Header.Kind != SyncKind.HookDone) throw new RuncsException("sync protocol error after passing the seccomp listener");
            }

            Log.Phase("init: root entered, finalize prepared");
            ch.Send(SyncKind.Ready);
            ready = true;
            Log.Sink = line => WriteFd(logFd, line);
            ch.Dispose();

            // Blocks until `runcs start` opens the fifo for reading.
            int w = Libc.open($"/proc/self/fd/{fifo}", Libc.O_WRONLY | Libc.O_CLOEXEC, 0);
            if (w < 0) throw new RuncsException($"opening exec fifo: {Libc.LastError()}");
            WriteFd(w, "0");
            Libc.close(w);
            Libc.close(fifo);

            state.Status = Status.Running;
            HookRunner.RunAll("startContainer", ins.Config.Hooks?.StartContainer, state);
            fin.Run();
            return 1;
        }
        catch (Exception e)
        {
            var text = e is RuncsException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            text = text.Replace('\n', ' ');
            try
            {
                if (!ready) ch.SendText(SyncKind.InitError, text);
                else Log.Error(text);
            }
            catch (Exception) { }
            return 1;
        }
    }

    /// <summary>
    /// A pty from the container's own devpts: the master goes to the console socket, the slave
    /// becomes /dev/console (bind) and, at finalize, the process's stdio and controlling tty.
    /// </summary>
    private static int SetupConsole(InitInstructions ins)
    {
        int ptmx = Libc.open("/dev/ptmx", Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_CLOEXEC, 0);
        if (ptmx < 0) throw new RuncsException($"opening /dev/ptmx for the console: {Libc.LastError()}");
        var (master, slave, n) = Terminal.Pty.OpenPair(ptmx);
        try
        {
            if (ins.Config.Process?.ConsoleSize is { } size) Terminal.Pty.SetSize(slave, size.Height, size.Width);
            var pts = $"/dev/pts/{n}";
            int console = OpenConsoleTarget();
            try
            {
                // Source and target by fd: neither an image symlink at /dev/console nor one at /dev/pts can redirect the mount (CVE-2025-52565).
                if (Mounts.mount(Rootfs.FdPath(slave), Rootfs.FdPath(console), null, Mounts.MS_BIND, null) != 0)
                    throw new RuncsException($"bind-mounting {pts} on /dev/console: {Libc.LastError()}");
            }
            finally { Libc.close(console); }
            FdPassing.Send(ins.ConsoleSocketFd, master, "/dev/ptmx"u8);
        }
        finally
        {
            Libc.close(master);
            Libc.close(ins.ConsoleSocketFd);
        }
        return slave;
    }

    /// <summary>
    /// /dev/console as an O_PATH fd, created as an empty file when missing; a symlink there (an image can
    /// point it at /proc/sys/kernel/core_pattern or /proc/sysrq-trigger) is refused, never followed (CVE-2025-52565).
    /// </summary>
    private static unsafe int OpenConsoleTarget()
    {
        const ulong resolve = Mounts.RESOLVE_IN_ROOT | Mounts.RESOLVE_NO_MAGICLINKS;
        int c = Mounts.OpenAt2(Libc.AT_FDCWD, "/dev/console", (ulong)(Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC), resolve, 0x1A4);
        if (c >= 0) Libc.close(c);
        else if (c != -17 /* EEXIST */) throw new RuncsException($"creating /dev/console: {Libc.StrError(-c)}");
        int fd = Mounts.OpenAt2(Libc.AT_FDCWD, "/dev/console", (ulong)(Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC), resolve);
        if (fd < 0) throw new RuncsException($"opening /dev/console: {Libc.StrError(-fd)}");
        var st = Mounts.FStat(fd);
        uint t = st.Mode & Mounts.S_IFMT;
        if (t != Mounts.S_IFREG && t != Mounts.S_IFCHR)
        {
            Libc.close(fd);
            throw new RuncsException(t == Mounts.S_IFLNK
                ? "/dev/console in the container is a symlink; refusing to mount the console through it"
                : "/dev/console in the container is not a regular file or character device; refusing to mount the console on it");
        }
        return fd;
    }

    /// <summary>
    /// A session keyring of the container's own (runc's default; --no-new-keyring keeps the caller's),
    /// so keys added inside never land in the host's session keyring. A kernel without keyrings is fine.
    /// </summary>
    private static unsafe void JoinSessionKeyring(string id)
    {
        var name = System.Text.Encoding.UTF8.GetBytes("_ses." + id + "\0");
        fixed (byte* p = name)
        {
            long r = RawSyscalls.Invoke(250 /* keyctl */, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, (long)p);
            if (r < 0 && r != -38 /* ENOSYS */) throw new RuncsException($"joining a new session keyring: {Libc.StrError((int)-r)}");
        }
    }

    private static void WriteProc(string path, string value, string what)
    {
        try { File.WriteAllText(path, value); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new RuncsException($"{what}: {e.Message}"); }
    }

    private static unsafe void WriteFd(int fd, string text)
    {
        if (fd < 0) return;
        var b = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = b) Libc.write(fd, p, b.Length);
    }
}
