using System.Reflection;
using System.Text;
using Runcs.Containers;

namespace Runcs.Cli;

/// <summary>
/// runc-compatible command line: global flags, the command table, help, and the single place
/// where errors become a log line, a one-line stderr message and exit status 1.
/// Thin by design: parse, call <see cref="Runcs.Containers"/>, print.
/// </summary>
public static class CommandLine
{
    private static readonly FlagSpec[] GlobalFlags =
    [
        new("debug", false, "enable debug logging"),
        new("log", true, "set the log file to write runcs logs to (default is '/dev/stderr')", ValueName: "value"),
        new("log-format", true, "set the log format ('text' (default), or 'json')", ValueName: "value"),
        new("root", true, "root directory for storage of container state (this should be located in tmpfs)", ValueName: "value"),
        new("criu", true, "path to the criu binary used for checkpoint and restore (not supported by runcs)", ValueName: "value"),
        new("systemd-cgroup", false, "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\""),
        new("rootless", true, "ignore cgroup permission errors ('true', 'false', or 'auto')", ValueName: "value"),
        new("help", false, "show help", ["h"]),
        new("version", false, "print the version", ["v"]),
    ];

    private static readonly FlagSpec Bundle = new("bundle", true, "path to the root of the bundle directory, defaults to the current directory", ["b"], "value");
    private static readonly FlagSpec ConsoleSocket = new("console-socket", true, "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal", ValueName: "value");
    private static readonly FlagSpec PidFile = new("pid-file", true, "specify the file to write the process id to", ValueName: "value");
    private static readonly FlagSpec PreserveFds = new("preserve-fds", true, "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", ValueName: "value");
    private static readonly FlagSpec Help = new("help", false, "show help", ["h"]);

    private static readonly FlagSpec[] CreateFlags =
    [
        Bundle, ConsoleSocket, PidFile,
        new("no-pivot", false, "do not use pivot root to jail process inside rootfs"),
        new("no-new-keyring", false, "do not create a new session keyring for the container"),
        PreserveFds, Help,
    ];

    public static readonly CommandSpec[] Commands =
    [
        new("checkpoint", "<container-id>", "checkpoint a running container", "Checkpoint/restore needs CRIU; runcs does not support it.",
            [new("image-path", true, "path for saving criu image files"), new("work-path", true, "path for saving work files and logs"), new("leave-running", false, "leave the process running after checkpointing"), Help],
            1, 1, _ => throw new NotImplementedCommandException("checkpoint (CRIU)")),
        new("create", "<container-id>", "create a container",
            "The create command creates an instance of a container for a bundle. The bundle is a directory with a\nspecification file named \"config.json\" and a root filesystem. The container waits in state \"created\"\nuntil `runcs start` releases it.",
            CreateFlags, 1, 1, inv => CreateCommand.Run(inv)),
        new("delete", "<container-id>", "delete any resources held by the container often used with detached container",
            "Deletes a stopped container (or, with --force, kills it first) and everything it holds:\ncgroups, state directory, and runs the poststop hooks.",
            [new("force", false, "Forcibly deletes the container if it is still running (uses SIGKILL)", ["f"]), Help],
            1, 1, inv => DeleteCommand.Run(inv)),
        new("events", "<container-id>", "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
            "Prints a stream of JSON events (or, with --stats, one stats event) for the container.",
            [new("interval", true, "set the stats collection interval", ValueName: "value"), new("stats", false, "display the container's stats then exit"), Help],
            1, 1, inv => EventsCommand.Run(inv)),
        new("exec", "<container-id> <command> [command options]", "execute new process inside the container",
            "Runs a new process in a running container, in all of its namespaces and its cgroup.",
            [
                ConsoleSocket,
                new("cwd", true, "current working directory in the container", ValueName: "value"),
                new("env", true, "set environment variables", ["e"], "value", true),
                new("tty", false, "allocate a pseudo-TTY", ["t"]),
                new("user", true, "UID (format: <uid>[:<gid>])", ["u"], "value"),
                new("additional-gids", true, "additional gids", ["g"], "value", true),
                new("process", true, "path to the process.json", ["p"], "value"),
                new("detach", false, "detach from the container's process", ["d"]),
                PidFile,
                new("process-label", true, "set the asm process label for the process commonly used with selinux", ValueName: "value"),
                new("apparmor", true, "set the apparmor profile for the process", ValueName: "value"),
                new("no-new-privs", false, "set the no new privileges value for the process"),
                new("cap", true, "add a capability to the bounding set for the process", ["c"], "value", true),
                PreserveFds,
                new("cgroup", true, "run the process in an (existing) sub-cgroup(s)", ValueName: "value", Repeatable: true),
                new("ignore-paused", false, "allow exec in a paused container"),
                Help,
            ],
            1, int.MaxValue, inv => ExecCommand.Run(inv)),
        new("init", "", "initialize the namespaces and launch the process (do not call it outside of runcs)", "", [Help], 0, 0,
            _ => throw new RuncsException("init must only be started by runcs itself"), Hidden: true),
        new("kill", "<container-id> [signal]", "kill sends the specified signal (default: SIGTERM) to the container's init process",
            "Signals may be names with or without SIG (KILL, SIGKILL) or numbers (9).",
            [new("all", false, "send the specified signal to all processes inside the container", ["a"]), Help],
            1, 2, inv => KillCommand.Run(inv)),
        new("list", "", "lists containers started by runcs with the given root",
            "Lists the containers in --root with their derived status.",
            [new("format", true, "select one of: table or json (default: \"table\")", ["f"], "value"), new("quiet", false, "display only container IDs", ["q"]), Help],
            0, 0, inv => ListCommand.Run(inv)),
        new("pause", "<container-id>", "pause suspends all processes inside the container",
            "Freezes every process of the container (cgroup freezer) and waits until frozen.", [Help], 1, 1, inv => PauseCommand.Pause(inv)),
        new("ps", "<container-id> [ps options]", "ps displays the processes running inside a container",
            "Prints the container's processes (ps output filtered to the container, or --format json: the pid list).",
            [new("format", true, "select one of: table or json (default: \"table\")", ["f"], "value"), Help],
            1, int.MaxValue, inv => PsCommand.Run(inv)),
        new("restore", "<container-id>", "restore a container from a previous checkpoint", "Checkpoint/restore needs CRIU; runcs does not support it.",
            [Bundle, new("image-path", true, "path to criu image files for restoring"), Help], 1, 1, _ => throw new NotImplementedCommandException("restore (CRIU)")),
        new("resume", "<container-id>", "resumes all processes that have been previously paused",
            "Thaws every process of the container.", [Help], 1, 1, inv => PauseCommand.Resume(inv)),
        new("run", "<container-id>", "create and run a container",
            "Creates and starts a container, waits for it, forwards signals to its pid 1 and exits with its status\n(128+N when it was killed by signal N). With --detach, returns once it is started.",
            [.. CreateFlags.Where(f => f.Name != "help"), new("detach", false, "detach from the container's process", ["d"]),
             new("keep", false, "do not delete the container after it exits"), new("no-subreaper", false, "disable the use of the subreaper used to reap reparented processes"), Help],
            1, 1, inv => RunCommand.Run(inv)),
        new("spec", "", "create a new specification file",
            "Writes a starter config.json for a bundle, equivalent to runc's (with --rootless, the rootless variant).\nIt refuses to overwrite an existing config.json.",
            [Bundle, new("rootless", false, "generate a configuration for a rootless container"), Help],
            0, 0, inv => SpecCommand.Run(inv)),
        new("start", "<container-id>", "executes the user defined process in a created container",
            "Releases a created container's init so it executes the user's process.", [Help], 1, 1, inv => StartCommand.Run(inv)),
        new("state", "<container-id>", "output the state of a container",
            "Prints the OCI state of the container as JSON.", [Help], 1, 1, inv => StateCommand.Run(inv)),
        new("update", "<container-id>", "update container resource constraints",
            "Changes the cgroup limits of a running container, from flags or from a --resources JSON (file or - for stdin).",
            [
                new("resources", true, "path to the file containing the resources to update or '-' to read from the standard input", ["r"], "value"),
                new("blkio-weight", true, "Specifies per cgroup weight, range is from 10 to 1000", ValueName: "value"),
                new("cpu-period", true, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default", ValueName: "value"),
                new("cpu-quota", true, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period", ValueName: "value"),
                new("cpu-burst", true, "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period", ValueName: "value"),
                new("cpu-share", true, "CPU shares (relative weight vs. other containers)", ValueName: "value"),
                new("cpu-rt-period", true, "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default", ValueName: "value"),
                new("cpu-rt-runtime", true, "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period", ValueName: "value"),
                new("cpu-idle", true, "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE", ValueName: "value"),
                new("cpuset-cpus", true, "CPU(s) to use", ValueName: "value"),
                new("cpuset-mems", true, "Memory node(s) to use", ValueName: "value"),
                new("kernel-memory", true, "Kernel memory limit (in bytes)", ValueName: "value"),
                new("kernel-memory-tcp", true, "Kernel memory limit (in bytes) for tcp buffer", ValueName: "value"),
                new("memory", true, "Memory limit (in bytes)", ValueName: "value"),
                new("memory-reservation", true, "Memory reservation or soft_limit (in bytes)", ValueName: "value"),
                new("memory-swap", true, "Total memory usage (memory + swap); set '-1' to enable unlimited swap", ValueName: "value"),
                new("pids-limit", true, "Maximum number of pids allowed in the container", ValueName: "value"),
                new("l3-cache-schema", true, "The string of Intel RDT/CAT L3 cache schema", ValueName: "value"),
                new("mem-bw-schema", true, "The string of Intel RDT/MBA memory bandwidth schema", ValueName: "value"),
                Help,
            ],
            1, 1, inv => UpdateCommand.Run(inv)),
        new("features", "", "show the enabled features",
            "Prints the OCI features document: what this runcs build implements on this host.", [Help], 0, 0, inv => FeaturesCommand.Run(inv)),
        new("seccomp", "compile <config.json|profile> | check <profile> <syscall> [args...] [--arch A]", "inspect seccomp profiles (runcs only)",
            "compile: prints the BPF program runcs builds for a profile (disassembly and statistics).\ncheck: prints the action the filter takes for one syscall with the given arguments.",
            [new("arch", true, "architecture for `check` (e.g. SCMP_ARCH_X86_64, x86, aarch64)", ValueName: "value"), Help],
            1, int.MaxValue, inv => SeccompCommand.Run(inv)),
    ];

    public static int Run(string[] argv)
    {
        if (argv.Length > 0 && argv[0] == "init")
            return Init.InitProcess.Run(argv);

        var g = new GlobalOptions();
        try
        {
            var gflags = new Dictionary<string, List<string>>();
            int i = Parser.ParseFlags(argv, 0, GlobalFlags, gflags, stopAtPositional: true, positionals: null, context: "");
            ApplyGlobals(g, gflags);
            if (gflags.ContainsKey("version")) { Console.Out.Write(VersionText()); return 0; }
            if (i >= argv.Length)
            {
                Console.Out.Write(MainHelp());
                return gflags.ContainsKey("help") ? 0 : 1;
            }
            string name = argv[i++];
            if (name == "help")
            {
                if (i < argv.Length) { Console.Out.Write(CommandHelp(FindCommand(argv[i]))); return 0; }
                Console.Out.Write(MainHelp()); return 0;
            }
            var cmd = FindCommand(name);
            var inv = new Invocation { Global = g, Command = cmd };
            Parser.ParseFlags(argv, i, cmd.Flags, inv.Flags, stopAtPositional: true, positionals: inv.Args, context: cmd.Name);
            if (inv.Has("help")) { Console.Out.Write(CommandHelp(cmd)); return 0; }
            CheckArity(inv);
            int rc = cmd.Handler(inv);
            // A short command is meant to finish without a collection: say when one happened.
            if (Log.DebugEnabled) Log.Debug($"{cmd.Name}: {GC.CollectionCount(0)} garbage collections (gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)}), {GC.GetTotalAllocatedBytes() >> 10} KiB allocated");
            return rc;
        }
        catch (RuncsException e)
        {
            return Fail(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            return Fail(e.Message);
        }
    }

    /// <summary>runc's fatal(): the error goes to the log; and to stderr too when the log is a file.</summary>
    public static int Fail(string message)
    {
        message = OneLine(message);
        Log.Error(message);
        if (!Log.ToStderr) Console.Error.WriteLine("runcs: " + message);
        return 1;
    }

    public static string OneLine(string s) => s.Replace("\r", " ").Replace('\n', ' ').Trim();

    private static void ApplyGlobals(GlobalOptions g, Dictionary<string, List<string>> f)
    {
        if (f.TryGetValue("root", out var r)) g.Root = r[^1];
        if (f.TryGetValue("log", out var l)) g.Log = l[^1];
        if (f.TryGetValue("log-format", out var lf)) g.LogFormat = lf[^1];
        g.Debug = f.ContainsKey("debug");
        g.SystemdCgroup = f.ContainsKey("systemd-cgroup");
        if (f.TryGetValue("criu", out var c)) g.Criu = c[^1];
        if (g.LogFormat is not ("text" or "json"))
        {
            Log.Configure(g.Log, false, g.Debug);
            throw new UsageException($"invalid log-format: {g.LogFormat}");
        }
        Log.Configure(g.Log, g.LogFormat == "json", g.Debug);
        if (g.Root.Length == 0) throw new UsageException("--root must not be empty");
        g.Root = Path.GetFullPath(g.Root);
    }

    private static CommandSpec FindCommand(string name)
    {
        foreach (var c in Commands) if (c.Name == name) return c;
        throw new UsageException($"no such command: {name} (see `runcs --help`)");
    }

    private static void CheckArity(Invocation inv)
    {
        var c = inv.Command;
        int n = inv.Args.Count;
        if (n < c.MinArgs || n > c.MaxArgs)
        {
            string want = c.MinArgs == c.MaxArgs ? $"exactly {c.MinArgs}" : c.MaxArgs == int.MaxValue ? $"at least {c.MinArgs}" : $"{c.MinArgs} to {c.MaxArgs}";
            throw new UsageException($"{c.Name}: \"{c.Name}\" requires {want} argument(s), got {n} (usage: runcs {c.Name} [command options] {c.ArgsUsage})");
        }
    }

    public static string Version => typeof(CommandLine).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    public static string Commit
    {
        get
        {
            foreach (var a in typeof(CommandLine).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
                if (a.Key == "GitCommit" && !string.IsNullOrEmpty(a.Value)) return a.Value!;
            return "unknown";
        }
    }

    public static string VersionText() =>
        $"runcs version {Version}\ncommit: {Commit}\nspec: {Spec.SpecInfo.Version}\nruntime: .NET {Environment.Version} NativeAOT\n";

    private static string MainHelp()
    {
        var sb = new StringBuilder();
        sb.Append("NAME:\n   runcs - Open Container Initiative runtime written in C#\n\n");
        sb.Append("runcs is a command line client for running applications packaged according to\nthe Open Container Initiative (OCI) format and is a compliant implementation of the\nOpen Container Initiative specification, compatible with runc's command line.\n\n");
        sb.Append("USAGE:\n   runcs [global options] command [command options] [arguments...]\n\n");
        sb.Append("VERSION:\n   ").Append(Version).Append("\ncommit: ").Append(Commit).Append("\nspec: ").Append(Spec.SpecInfo.Version).Append("\n\n");
        sb.Append("COMMANDS:\n");
        foreach (var c in Commands)
            if (!c.Hidden) sb.Append("   ").Append(c.Name.PadRight(12)).Append(c.Summary).Append('\n');
        sb.Append("   help, h     Shows a list of commands or help for one command\n\n");
        sb.Append("GLOBAL OPTIONS:\n");
        AppendFlags(sb, GlobalFlags);
        return sb.ToString();
    }

    private static string CommandHelp(CommandSpec c)
    {
        var sb = new StringBuilder();
        sb.Append("NAME:\n   runcs ").Append(c.Name).Append(" - ").Append(c.Summary).Append("\n\n");
        sb.Append("USAGE:\n   runcs ").Append(c.Name).Append(" [command options] ").Append(c.ArgsUsage).Append("\n\n");
        if (c.Description.Length > 0) sb.Append("DESCRIPTION:\n   ").Append(c.Description.Replace("\n", "\n   ")).Append("\n\n");
        sb.Append("OPTIONS:\n");
        AppendFlags(sb, c.Flags);
        return sb.ToString();
    }

    private static void AppendFlags(StringBuilder sb, IEnumerable<FlagSpec> flags)
    {
        foreach (var f in flags)
        {
            var names = string.Join(", ", f.AllNames.Select(n => (n.Length == 1 ? "-" : "--") + n + (f.TakesValue ? " " + (f.ValueName ?? "value") : "")));
            sb.Append("   ").Append(names.PadRight(30)).Append(' ').Append(f.Help).Append('\n');
        }
    }
}
