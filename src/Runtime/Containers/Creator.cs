using System.Globalization;
using System.Text;
using Runcs.Hooks;
using Runcs.Init;
using Runcs.Linux;
using Runcs.Processes;
using Runcs.Spec;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>Options of `create` (and of `run`, which creates first).</summary>
public sealed class CreateOptions
{
    public required string Id { get; init; }
    public string Bundle { get; init; } = ".";
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public bool NoPivot { get; init; }
    public bool NoNewKeyring { get; init; }
    public int PreserveFds { get; init; }
    /// <summary>An already connected console socket (run -t attaching the caller's terminal), or -1.</summary>
    public int ConsoleFd { get; init; } = -1;
}

/// <summary>
/// Creates a container: validate, claim the id, start init through the process model, serve
/// it until it is ready, record state. Any failure rolls back everything created so far
/// (processes killed and reaped, cgroups removed, state directory removed).
/// </summary>
public static class Creator
{
    public static (StoredState State, int InitPid) Create(Cli.GlobalOptions g, CreateOptions o)
    {
        StateStore.ValidateId(o.Id);
        CgroupAttachPrewarm.Start();
        if (o.PreserveFds < 0) throw new RuncsException($"invalid --preserve-fds {o.PreserveFds}: must not be negative");
        Log.Phase("create: start");
        var loaded = ConfigLoader.LoadBundle(o.Bundle, forCreate: true);
        Log.Phase("config read and validated");
        var config = loaded.Config;
        if (config.Process!.Terminal && string.IsNullOrEmpty(o.ConsoleSocket) && o.ConsoleFd < 0)
            throw new RuncsException("cannot allocate a tty if runcs will detach without setting a console socket (process.terminal is true: pass --console-socket)");
        if (!config.Process.Terminal && !string.IsNullOrEmpty(o.ConsoleSocket))
            throw new RuncsException("--console-socket is only valid when process.terminal is true");
        var seccomp = SeccompSetup.Compile(config.Linux?.Seccomp);
        Log.Phase("seccomp compiled");

        var cgroups = ContainerCgroups.Factory.ForContainer(o.Id, config.Linux?.CgroupsPath, g.SystemdCgroup);
        var resources = config.Linux?.Resources;

        var store = new StateStore(g.Root);
        var dir = store.ClaimDir(o.Id);
        InitLauncher? launcher = null;
        bool cgroupsCreated = false;
        var state = new StoredState
        {
            Id = o.Id, Bundle = loaded.Bundle, Rootfs = loaded.Rootfs, Config = config,
            Created = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            // Annotations are not copied next to the config they come from (state readers fall back
            // to the config's): with thousands of them, every state write doubled.
            Owner = "root",
        };
        try
        {
            using var lk = store.Lock(o.Id);
            store.Save(state); // from here on, `delete --force` can clean up whatever a crash leaves
            var fifo = Path.Combine(dir, StateStore.FifoName);
            if (Libc.mkfifo(fifo, 0x180) != 0) throw new RuncsException($"creating {fifo}: {Libc.LastError()}");
            // In a user namespace, init runs as the host ids that container root maps to.
            var (rootUid, rootGid) = (HostIdOf(config.Linux?.UidMappings, 0), HostIdOf(config.Linux?.GidMappings, 0));
            if ((rootUid != 0 || rootGid != 0) && Libc.chown(fifo, rootUid, rootGid) != 0)
                throw new RuncsException($"giving {fifo} to the container's root ({rootUid}:{rootGid}): {Libc.LastError()}");
            int logFd = -1;
            if (g.Log is { Length: > 0 } logPath && logPath != "/dev/stderr")
            {
                logFd = Libc.open(logPath, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_CLOEXEC, 0x1A0);
                if (logFd < 0) throw new RuncsException($"opening log {logPath}: {Libc.LastError()}");
            }

            int listenFds = 0;
            if (Environment.GetEnvironmentVariable("LISTEN_FDS") is { } lf && int.TryParse(lf, out var n) && n > 0) listenFds = n;
            int extra = listenFds + o.PreserveFds;
            var env = new List<string>(config.Process.Env ?? []);
            if (listenFds > 0)
            {
                env.RemoveAll(e => e.StartsWith("LISTEN_FDS=", StringComparison.Ordinal) || e.StartsWith("LISTEN_PID=", StringComparison.Ordinal));
                env.Add($"LISTEN_FDS={listenFds}");
                env.Add("LISTEN_PID=1");
            }

            int consoleFd = !config.Process.Terminal ? -1
                : o.ConsoleFd >= 0 ? o.ConsoleFd : Terminal.Pty.ConnectConsoleSocket(o.ConsoleSocket!);
            launcher = new InitLauncher
            {
                Config = config,
                ExtraFds = extra,
                ConsoleFd = consoleFd,
                LogFd = logFd,
                // Stage 1 waits until it has joined its cgroups: every process of the container
                // starts inside them, under their limits and device rules.
                PlaceInCgroup = pid => cgroups.Join(pid),
            };
            Log.Phase("state directory claimed");
            // The cgroups are made and limited before the clone: the forked setup process shares
            // every page of this one until it exits, so each page written meanwhile is copied
            // (measured: a 2 KB state write took 1.2 ms right after the clone). Only the joins
            // happen while it waits.
            cgroupsCreated = true;
            state.CgroupPaths = cgroups.Paths;
            store.Save(state);
            Log.Phase("state saved with cgroup paths");
            cgroups.Create(resources);
            Log.Phase("cgroups created");
            cgroups.Set(resources);
            Log.Phase("cgroups limited");
            launcher.Launch();
            Log.Phase("stages 1 and 2 done");
            int pid = launcher.InitPid;
            state.Pid = pid;
            state.PidStartTime = ProcessInfo.StartTime(pid) ?? throw new RuncsException("container init exited during create");
            state.NamespacePaths = NamespacePaths(config, pid);
            store.Save(state);
            if (config.Process.ExecCpuAffinity?.Initial is { Length: > 0 } initial) Finalizer.SetAffinity(pid, initial);

            var newNs = (config.Linux?.Namespaces ?? []).Where(x => string.IsNullOrEmpty(x.Path)).Select(x => x.Type).ToList();
            // Idmapped mounts: one user namespace per distinct mapping, made here (the multithreaded CLI
            // can clone into a new user namespace) and passed to init by fd after its instructions.
            var idmapMounts = new List<int>();
            var idmapFds = new List<int>();
            var byKey = new Dictionary<string, int>();
            try
            {
                for (int i = 0; i < (config.Mounts?.Count ?? 0); i++)
                {
                    var m = config.Mounts![i];
                    if (!Init.MountOptions.Parse(m.Options).IdMap) continue;
                    var uids = m.UidMappings is { Count: > 0 } mu ? mu : config.Linux?.UidMappings ?? [];
                    var gids = m.GidMappings is { Count: > 0 } mg ? mg : config.Linux?.GidMappings ?? [];
                    if (uids.Count == 0 || gids.Count == 0)
                        throw new ConfigException($"/mounts/{i}", "an idmap mount needs uidMappings and gidMappings (on the mount or a user namespace's)");
                    var key = UsernsMaker.Key(uids, gids);
                    if (!byKey.TryGetValue(key, out int fd)) byKey[key] = fd = UsernsMaker.Make(uids, gids);
                    idmapMounts.Add(i);
                    idmapFds.Add(fd);
                }
                launcher.SendInstructions(new InitInstructions
            {
                Id = o.Id, Bundle = loaded.Bundle, Rootfs = loaded.Rootfs, Config = config, FifoPath = fifo,
                NoPivot = o.NoPivot, NoNewKeyring = o.NoNewKeyring, ExtraFds = extra, LogPath = g.Log, LogJson = g.LogFormat == "json",
                Debug = g.Debug, HostPid = pid, CgroupPaths = state.CgroupPaths, NewNamespaces = newNs, Env = env, Created = state.Created,
                ConsoleSocketFd = launcher.ConsoleTarget, LogFd = launcher.LogTarget,
                SeccompProgram = seccomp?.Program, SeccompFlags = seccomp?.Flags ?? 0, SeccompListener = seccomp?.NeedsListener ?? false,
                IdmapMounts = idmapMounts.Count > 0 ? idmapMounts : null,
            });
                foreach (var fd in idmapFds) FdPassing.Send(launcher.Channel!.Fd, fd, "u"u8);
            }
            finally
            {
                foreach (var fd in byKey.Values) Libc.close(fd);
            }
            Log.Phase("instructions sent");
            ServeInit(launcher, state, config);
            Log.Phase("init ready");
            if (o.PidFile is { Length: > 0 } pf) WritePidFile(pf, pid);
            var result = (state, pid);
            launcher.Dispose();
            launcher = null;
            return result;
        }
        catch
        {
            launcher?.KillAll();
            launcher?.Dispose();
            if (cgroupsCreated)
            {
                try { cgroups.Destroy(kill: true); } catch (RuncsException e) { Log.Warn(e.Message); }
            }
            try { store.RemoveDir(o.Id); } catch (RuncsException e) { Log.Warn(e.Message); }
            throw;
        }
    }

    /// <summary>Serves init until it reports ready: forwards its log lines, runs the runtime-namespace hooks.</summary>
    private static void ServeInit(InitLauncher launcher, StoredState state, Config config)
    {
        var ch = launcher.Channel!;
        while (true)
        {
            var msg = ch.Receive();
            if (msg is null)
            {
                var st = Libc.Wait(launcher.InitPid);
                throw new RuncsException(st is { } s ? $"container init exited during create (status {Libc.ExitCode(s)})" : "container init exited during create");
            }
            var (h, payload) = msg.Value;
            switch (h.Kind)
            {
                case SyncKind.InitLog:
                    Log.WriteRaw(Encoding.UTF8.GetString(payload));
                    break;
                case SyncKind.InitError:
                    throw new RuncsException(Encoding.UTF8.GetString(payload));
                case SyncKind.SequencerError:
                    throw new RuncsException($"starting init: {Libc.StrError((int)h.Value)}");
                case SyncKind.HookRequest:
                    try
                    {
                        var oci = StatusDeriver.ToOci(state, Status.Creating);
                        HookRunner.RunAll("prestart", config.Hooks?.Prestart, oci);
                        HookRunner.RunAll("createRuntime", config.Hooks?.CreateRuntime, oci);
                        ch.Send(SyncKind.HookDone);
                    }
                    catch (RuncsException)
                    {
                        ch.Send(SyncKind.HookDone, "failed"u8);
                        throw;
                    }
                    break;
                case SyncKind.SeccompListener:
                {
                    int fd = FdPassing.Receive(ch.Fd, out _, 1);
                    if (fd < 0) throw new RuncsException("init did not pass its seccomp listener");
                    try { SeccompSetup.SendListener(config.Linux!.Seccomp!, fd, state.Pid, StatusDeriver.ToOci(state, Status.Creating)); }
                    finally { Libc.close(fd); }
                    ch.Send(SyncKind.HookDone);
                    break;
                }
                case SyncKind.Ready:
                    return;
                default:
                    throw new RuncsException($"sync protocol error: unexpected message {h.Kind} from init");
            }
        }
    }

    /// <summary>The host id that container id <paramref name="id"/> maps to (itself without mappings).</summary>
    private static uint HostIdOf(List<IdMapping>? maps, uint id)
    {
        foreach (var m in maps ?? [])
            if (id >= m.ContainerID && id - m.ContainerID < m.Size) return m.HostID + (id - m.ContainerID);
        return id;
    }

    private static Dictionary<string, string> NamespacePaths(Config c, int pid)
    {
        var d = new Dictionary<string, string>();
        foreach (var (type, _, proc) in Tables.Namespaces)
            d[type] = $"/proc/{pid}/ns/{proc}";
        return d;
    }

    /// <summary>Writes the pid file atomically (temp file + rename), as runc does.</summary>
    public static void WritePidFile(string path, int pid)
    {
        try { State.AtomicFile.Write(path, pid.ToString(CultureInfo.InvariantCulture), ".tmp" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new RuncsException($"writing pid file {path}: {e.Message}");
        }
    }
}
