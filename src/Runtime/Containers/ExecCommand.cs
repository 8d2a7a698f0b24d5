using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Runcs.Cli;
using Runcs.Linux;
using Runcs.Processes;
using Runcs.Spec;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>
/// `runcs exec [options] ID [COMMAND ARGS...]`: runs a new process in a running container, in all
/// of its namespaces and its cgroup, with the container's capabilities and seccomp profile unless
/// overridden. Foreground: waits and exits with the process's status; --detach returns at once.
/// </summary>
public static class ExecCommand
{
    private static readonly int[] Forwarded = [1, 2, 3, 10, 12, 15, 28];

    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        var s = store.Load(id);
        var status = StatusDeriver.Derive(s, store.Dir(id));
        if (status == Status.Stopped) throw new RuncsException($"cannot exec in a stopped container: {id}");
        if (status == Status.Paused && !inv.Bool("ignore-paused")) throw new RuncsException($"cannot exec in a paused container: {id} (use --ignore-paused)");
        if (status == Status.Created) throw new RuncsException($"cannot exec in a created container that has not been started: {id}");
        var config = s.Config ?? throw new RuncsException($"state of container {id} has no config");

        var p = BuildProcess(inv, config);
        Validator.ValidateProcess(p, inv.Has("process") ? "" : "/process", needArgs: true);
        if (!p.Terminal && inv.Has("console-socket")) throw new RuncsException("--console-socket is only valid with a terminal (-t or process.terminal)");
        bool detach = inv.Bool("detach");
        if (p.Terminal && detach && !inv.Has("console-socket"))
            throw new RuncsException("cannot allocate a tty if runcs will detach without setting a console socket");
        Lsm.CheckRequested(p.ApparmorProfile, p.SelinuxLabel, inv.Has("process") ? "" : "/process");
        var seccomp = SeccompSetup.Compile(config.Linux?.Seccomp);
        if (seccomp is { NeedsListener: true })
            throw new RuncsException("exec into a container whose seccomp profile uses SCMP_ACT_NOTIFY is not supported by runcs yet");

        int preserve = inv.Int("preserve-fds", 0);
        if (preserve < 0) throw new RuncsException($"invalid --preserve-fds {preserve}: must not be negative");
        var nsList = new List<(string, string)>();
        foreach (var ns in config.Linux?.Namespaces ?? [])
            nsList.Add((ns.Type, $"/proc/{s.Pid}/ns/{Tables.Namespaces[Tables.NamespaceIndex(ns.Type)].ProcName}"));
        var cgroupPaths = s.CgroupPaths;
        int master = -1, slave = -1;
        if (p.Terminal) (master, slave) = OpenContainerPty(s.Pid, p.ConsoleSize);
        using var launcher = new ExecLauncher
        {
            Process = p,
            Namespaces = nsList,
            Env = p.Env ?? [],
            ExtraFds = preserve,
            ConsoleSlave = slave,
            SeccompProgram = seccomp?.Program,
            SeccompFlags = seccomp?.Flags ?? 0,
            PlaceInCgroup = pid => { if (cgroupPaths is { Count: > 0 }) ContainerCgroups.Factory.FromPaths(cgroupPaths).Join(pid); },
        };
        // The init pid must still be the container's when its namespaces are opened.
        if (ProcessInfo.StartTime(s.Pid) != s.PidStartTime) throw new RuncsException($"cannot exec in a stopped container: {id}");
        try { launcher.Launch(); }
        catch { launcher.KillAll(); throw; }
        if (slave >= 0) Libc.close(slave);
        Terminal.ConsoleProxy? proxy = null;
        if (master >= 0)
        {
            if (inv.Get("console-socket") is { } sock)
            {
                int fd = Terminal.Pty.ConnectConsoleSocket(sock);
                try { FdPassing.Send(fd, master, "/dev/ptmx"u8); }
                finally { Libc.close(fd); Libc.close(master); }
            }
            else proxy = new Terminal.ConsoleProxy(master);
        }
        if (inv.Get("pid-file") is { Length: > 0 } pf) Creator.WritePidFile(pf, launcher.Pid);
        if (detach) return 0;
        int pid = launcher.Pid;
        var regs = Forwarded.Select(sig => PosixSignalRegistration.Create((PosixSignal)sig, ctx => { ctx.Cancel = true; Libc.kill(pid, sig); })).ToList();
        try { return launcher.Wait(); }
        finally
        {
            proxy?.Dispose();
            foreach (var r in regs) r.Dispose();
        }
    }

    /// <summary>A pty from the container's own devpts instance, reached through /proc/&lt;init&gt;/root without leaving it.</summary>
    private static (int Master, int Slave) OpenContainerPty(int initPid, ConsoleSize? size)
    {
        int root = Libc.open($"/proc/{initPid}/root", Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (root < 0) throw new RuncsException($"opening the container's root: {Libc.LastError()}");
        try
        {
            int ptmx = Mounts.OpenAt2(root, "dev/ptmx", (ulong)(Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_CLOEXEC), Mounts.RESOLVE_IN_ROOT | Mounts.RESOLVE_NO_MAGICLINKS);
            if (ptmx < 0) throw new RuncsException($"opening the container's /dev/ptmx: {Libc.StrError(-ptmx)}");
            var (master, slave, _) = Terminal.Pty.OpenPair(ptmx);
            if (size is not null) Terminal.Pty.SetSize(slave, size.Height, size.Width);
            return (master, slave);
        }
        finally { Libc.close(root); }
    }

    /// <summary>The process to run: --process JSON as is, else the container's process with the flags applied (as runc).</summary>
    public static Process BuildProcess(Invocation inv, Config config)
    {
        if (inv.Get("process") is { } file)
        {
            byte[] bytes;
            try { bytes = file == "-" ? ReadStdin() : File.ReadAllBytes(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new RuncsException($"reading process file {file}: {e.Message}"); }
            try
            {
                if (bytes.AsSpan().Trim(" \t\r\n"u8).SequenceEqual("null"u8)) throw new RuncsException($"process file {file} is empty");
                return ModelCodec.FromUtf8(bytes, ModelCodec.ReadProcess);
            }
            catch (JsonException e) { throw new ConfigException("", $"process file {file}: {ConfigLoader.SyntaxMessage(e)}"); }
            catch (ConfigException e) { throw new ConfigException(e.Pointer, $"process file {file}: {ModelCodec.WrongRule}"); }
        }
        var bp = config.Process ?? new Process();
        var p = new Process
        {
            Terminal = inv.Bool("tty"),
            Args = inv.Args.Skip(1).ToList(),
            Env = new List<string>(bp.Env ?? []),
            Cwd = inv.Get("cwd") ?? bp.Cwd,
            User = new User { Uid = bp.User.Uid, Gid = bp.User.Gid, Umask = bp.User.Umask, AdditionalGids = bp.User.AdditionalGids },
            Capabilities = bp.Capabilities is { } c ? new Capabilities
            {
                Bounding = c.Bounding?.ToList(), Effective = c.Effective?.ToList(), Permitted = c.Permitted?.ToList(),
                Inheritable = c.Inheritable?.ToList(), Ambient = c.Ambient?.ToList(),
            } : null,
            Rlimits = bp.Rlimits,
            NoNewPrivileges = bp.NoNewPrivileges || inv.Bool("no-new-privs"),
            ApparmorProfile = inv.Get("apparmor") ?? bp.ApparmorProfile,
            SelinuxLabel = inv.Get("process-label") ?? bp.SelinuxLabel,
            OomScoreAdj = bp.OomScoreAdj,
        };
        foreach (var e in inv.GetAll("env"))
        {
            int eq = e.IndexOf('=');
            var key = eq > 0 ? e[..eq] : e;
            p.Env.RemoveAll(x => x.StartsWith(key + "=", StringComparison.Ordinal));
            p.Env.Add(e);
        }
        if (inv.Get("user") is { } u)
        {
            var parts = u.Split(':');
            if (!uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || parts.Length > 2)
                throw new RuncsException($"invalid --user {u}: expected <uid>[:<gid>] (numeric)");
            p.User.Uid = uid;
            if (parts.Length == 2)
            {
                if (!uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
                    throw new RuncsException($"invalid --user {u}: expected <uid>[:<gid>] (numeric)");
                p.User.Gid = gid;
            }
        }
        var gids = inv.GetAll("additional-gids");
        if (gids.Count > 0)
        {
            p.User.AdditionalGids = new List<uint>();
            foreach (var g in gids)
                foreach (var part in g.Split(','))
                    p.User.AdditionalGids.Add(uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var gv)
                        ? gv : throw new RuncsException($"invalid --additional-gids {g}: expected numbers"));
        }
        foreach (var cap in inv.GetAll("cap"))
        {
            var name = cap.StartsWith("CAP_", StringComparison.Ordinal) ? cap : "CAP_" + cap.ToUpperInvariant();
            p.Capabilities ??= new Capabilities();
            foreach (var set in new[] { p.Capabilities.Bounding ??= [], p.Capabilities.Effective ??= [], p.Capabilities.Permitted ??= [], p.Capabilities.Ambient ??= [] })
                if (!set.Contains(name)) set.Add(name);
        }
        return p;
    }

    private static byte[] ReadStdin()
    {
        using var ms = new MemoryStream();
        Console.OpenStandardInput().CopyTo(ms);
        return ms.ToArray();
    }
}
