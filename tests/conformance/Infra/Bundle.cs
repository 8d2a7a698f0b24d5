using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance;

/// <summary>
/// A disposable OCI bundle for one test: a private temp dir, a rootfs (the shared read-only cache
/// rootfs by absolute path, or a private `cp -a` copy), a config from `runcs spec` (terminal false)
/// as a mutable <see cref="JsonObject"/>, private `--root` state dirs for runcs and runc, and helpers
/// to drive either runtime. <see cref="Dispose"/> always cleans everything: every container is
/// `delete --force`d, leftover processes are killed, mounts under the temp dir are detached, and the
/// directories are removed.
/// </summary>
public sealed class Bundle : IDisposable
{
    public string Dir { get; }
    /// <summary>The rootfs directory (the shared cache, or Dir/rootfs when copied).</summary>
    public string RootfsPath { get; }
    public bool CopiedRootfs { get; }
    public string RuncsRoot { get; }
    public string RuncRoot { get; }
    public JsonObject Config { get; private set; }
    public JsonObject Process => Config["process"]!.AsObject();
    public JsonObject Linux => Config["linux"]!.AsObject();

    private readonly List<(string Tool, string Id)> _containers = new();
    private readonly HashSet<int> _pids = new();
    private readonly List<Action> _cleanups = new();
    private readonly Dictionary<string, string> _containerOut = new();
    private int _seq;

    /// <summary>runc (the reference runtime).</summary>
    public static string RuncBinary => Environment.GetEnvironmentVariable("RUNC_BINARY") is { Length: > 0 } r ? r : "runc";

    public Bundle(bool copyRootfs = false)
    {
        Dir = Directory.CreateTempSubdirectory("runcs-lc-").FullName;
        // 0755: containers with a user namespace (mapped, unprivileged on the host) must reach the rootfs and state dirs.
        File.SetUnixFileMode(Dir, (UnixFileMode)0x1ED);
        RuncsRoot = Path.Combine(Dir, "state-runcs");
        RuncRoot = Path.Combine(Dir, "state-runc");
        Directory.CreateDirectory(RuncsRoot);
        Directory.CreateDirectory(RuncRoot);
        CopiedRootfs = copyRootfs;
        try
        {
            if (!Directory.Exists(Env.Rootfs)) throw new InvalidOperationException($"no test rootfs at {Env.Rootfs}: run tests/rootfs/build-rootfs.sh");
            if (copyRootfs)
            {
                RootfsPath = Path.Combine(Dir, "rootfs");
                var cp = Run.Exec("cp", ["-a", Env.Rootfs.TrimEnd('/') + "/.", RootfsPath + "/"], cwd: Dir);
                if (cp.ExitCode != 0)
                {
                    Directory.CreateDirectory(RootfsPath);
                    cp = Run.Exec("cp", ["-a", Env.Rootfs.TrimEnd('/') + "/.", RootfsPath], cwd: Dir);
                }
                if (cp.ExitCode != 0) throw new InvalidOperationException("copying the rootfs: " + cp);
            }
            else RootfsPath = Path.GetFullPath(Env.Rootfs);
            var spec = Run.Exec(Env.Runcs, ["spec", "--bundle", Dir]);
            if (spec.ExitCode != 0) throw new InvalidOperationException("runcs spec failed: " + spec);
            Config = JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject();
            Process["terminal"] = false;
            Config["root"] = new JsonObject { ["path"] = copyRootfs ? "rootfs" : RootfsPath, ["readonly"] = !copyRootfs };
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string ConfigPath => Path.Combine(Dir, "config.json");

    /// <summary>A fresh container id (unique per bundle; short to keep paths sane).</summary>
    public string NewId(string prefix = "c") => $"{prefix}{Environment.ProcessId}-{++_seq}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>A path in the test's temp dir (created as a directory when <paramref name="mkdir"/>).</summary>
    public string Path_(string name, bool mkdir = false)
    {
        var p = Path.Combine(Dir, name);
        if (mkdir) Directory.CreateDirectory(p);
        return p;
    }

    /// <summary>Sets process.args.</summary>
    public Bundle Args(params string[] args)
    {
        Process["args"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        return this;
    }

    /// <summary>Sets process.args to `sh -c script`.</summary>
    public Bundle Sh(string script) => Args("sh", "-c", script);

    public JsonArray Namespaces => Linux["namespaces"]!.AsArray();

    public bool HasNamespace(string type) => Namespaces.Any(n => n!["type"]!.GetValue<string>() == type);

    public Bundle AddNamespace(string type, string? path = null)
    {
        RemoveNamespace(type);
        var o = new JsonObject { ["type"] = type };
        if (path != null) o["path"] = path;
        Namespaces.Add(o);
        return this;
    }

    public Bundle RemoveNamespace(string type)
    {
        var ns = Namespaces;
        for (int i = ns.Count - 1; i >= 0; i--)
            if (ns[i]!["type"]!.GetValue<string>() == type) ns.RemoveAt(i);
        return this;
    }

    public JsonArray Mounts => Config["mounts"]!.AsArray();

    public Bundle AddMount(string destination, string type, string? source, params string[] options)
    {
        var m = new JsonObject { ["destination"] = destination, ["type"] = type };
        if (source != null) m["source"] = source;
        if (options.Length > 0) m["options"] = new JsonArray(options.Select(o => (JsonNode?)JsonValue.Create(o)).ToArray());
        Mounts.Add(m);
        return this;
    }

    public JsonObject Hooks
    {
        get
        {
            if (Config["hooks"] is not JsonObject h) Config["hooks"] = h = new JsonObject();
            return h;
        }
    }

    public Bundle AddHook(string kind, string path, string[]? args = null, string[]? env = null, int? timeout = null)
    {
        if (Hooks[kind] is not JsonArray arr) Hooks[kind] = arr = new JsonArray();
        var h = new JsonObject { ["path"] = path };
        if (args != null) h["args"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        if (env != null) h["env"] = new JsonArray(env.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        if (timeout != null) h["timeout"] = timeout.Value;
        arr.Add(h);
        return this;
    }

    /// <summary>Writes an executable shell script in the temp dir and returns its path.</summary>
    public string Script(string name, string body)
    {
        var p = Path.Combine(Dir, name);
        File.WriteAllText(p, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(p, (UnixFileMode)0x1ED);
        return p;
    }

    /// <summary>Registers an extra cleanup action (e.g. deleting a netns), run first on dispose.</summary>
    public void OnCleanup(Action a) => _cleanups.Add(a);

    public void SaveConfig() => File.WriteAllText(ConfigPath, Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Replaces the whole config (e.g. with a real-world one).</summary>
    public void SetConfig(JsonObject c) => Config = c;

    // ---------------------------------------------------------------- running the runtimes

    /// <summary>Runs `runcs --root R args...` in the bundle dir (config saved first).</summary>
    public Result Runcs(params string[] args) => Tool("runcs", args);

    /// <summary>Runs `runc --root R args...` in the bundle dir (config saved first).</summary>
    public Result Runc(params string[] args) => Tool("runc", args);

    public Result Tool(string tool, string[] args, int timeoutMs = 60_000, string[]? globalArgs = null, string? shellPrefix = null)
    {
        SaveConfig();
        var (bin, root) = tool == "runc" ? (RuncBinary, RuncRoot) : (Env.Runcs, RuncsRoot);
        var full = new List<string> { "--root", root };
        if (globalArgs != null) full.AddRange(globalArgs);
        full.AddRange(args);
        Track(tool, args);
        var (outFile, errFile) = NewOutFiles();
        var r = ExecToFiles(bin, full, outFile, errFile, timeoutMs, shellPrefix: shellPrefix);
        if (args.Length >= 2 && args[0] is "create" or "run") _containerOut[tool + "/" + args[^1]] = outFile;
        if (args.Length >= 2 && args[0] is "create" or "run") RecordPid(tool, args[^1]);
        return r;
    }

    private (string, string) NewOutFiles()
    {
        var n = Interlocked.Increment(ref _seq);
        var io = Path.Combine(Dir, "io");
        Directory.CreateDirectory(io);
        return (Path.Combine(io, $"{n}.out"), Path.Combine(io, $"{n}.err"));
    }

    private void Track(string tool, string[] args)
    {
        if (args.Length >= 2 && args[0] is "create" or "run")
        {
            var id = args[^1];
            if (!_containers.Contains((tool, id))) _containers.Add((tool, id));
        }
    }

    /// <summary>What a container created by `create`/`run` wrote to its stdout so far.</summary>
    public string ContainerOutput(string id, string tool = "runcs") =>
        _containerOut.TryGetValue(tool + "/" + id, out var f) && File.Exists(f) ? File.ReadAllText(f) : "";

    private void RecordPid(string tool, string id)
    {
        var st = State(id, tool);
        if (st?["pid"]?.GetValue<int>() is int pid and > 0) _pids.Add(pid);
    }

    /// <summary>`state ID` parsed, or null when it fails.</summary>
    public JsonObject? State(string id, string tool = "runcs")
    {
        var (bin, root) = tool == "runc" ? (RuncBinary, RuncRoot) : (Env.Runcs, RuncsRoot);
        var r = Run.Exec(bin, ["--root", root, "state", id], timeoutMs: 20_000);
        if (r.ExitCode != 0) return null;
        try { return JsonNode.Parse(r.Stdout)?.AsObject(); } catch (JsonException) { return null; }
    }

    public string? Status(string id, string tool = "runcs") => State(id, tool)?["status"]?.GetValue<string>();

    /// <summary>Waits until `state` reports <paramref name="status"/>; returns the last status seen.</summary>
    public string? WaitStatus(string id, string status, int timeoutMs = 10_000, string tool = "runcs")
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        string? s;
        do
        {
            s = Status(id, tool);
            if (s == status) return s;
            Thread.Sleep(50);
        } while (Environment.TickCount64 < deadline);
        return s;
    }

    /// <summary>`run ID` of the config as it is: exit code, container stdout, runtime stderr.</summary>
    public Result RunContainer(string? id = null, string tool = "runcs", params string[] extra)
    {
        id ??= NewId();
        return Tool(tool, ["run", "--bundle", Dir, .. extra, id]);
    }

    /// <summary>`create --bundle Dir ID` (stdout of the container goes to a file: <see cref="ContainerOutput"/>).</summary>
    public Result Create(string id, string tool = "runcs", params string[] extra) => Tool(tool, ["create", "--bundle", Dir, .. extra, id]);

    /// <summary>Runs a program with stdio on files (no pipes a container could inherit and hold open).</summary>
    public static Result ExecToFiles(string file, IEnumerable<string> args, string outFile, string errFile, int timeoutMs = 60_000, IDictionary<string, string>? env = null, string? shellPrefix = null)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add((shellPrefix ?? "") + "exec \"$@\" >\"$RUNCS_T_OUT\" 2>\"$RUNCS_T_ERR\" </dev/null");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["RUNCS_T_OUT"] = outFile;
        psi.Environment["RUNCS_T_ERR"] = errFile;
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        if (!p.WaitForExit(timeoutMs))
        {
            try { p.Kill(true); } catch { }
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutMs} ms");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, SafeRead(outFile), SafeRead(errFile));
    }

    private static string SafeRead(string f)
    {
        try { return File.ReadAllText(f); } catch (IOException) { return ""; }
    }

    // ---------------------------------------------------------------- leftovers

    /// <summary>Pids of processes whose command line is `runcs init` (any runcs binary).</summary>
    public static HashSet<int> RuncsInitPids()
    {
        var set = new HashSet<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(d, "cmdline")).Split('\0');
                if (cmd.Length >= 2 && Path.GetFileName(cmd[0]) == "runcs" && cmd[1] == "init") set.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return set;
    }

    /// <summary>Mount points (host view) under a directory.</summary>
    public static List<string> MountsUnder(string dir)
    {
        var list = new List<string>();
        var prefix = dir.TrimEnd('/') + "/";
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length < 5) continue;
            var mp = Unescape(f[4]);
            if (mp == dir.TrimEnd('/') || mp.StartsWith(prefix, StringComparison.Ordinal)) list.Add(mp);
        }
        return list;
    }

    private static string Unescape(string s) => System.Text.RegularExpressions.Regex.Replace(s, @"\\([0-7]{3})",
        m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());

    /// <summary>Processes whose root or cwd lies in the temp dir (containers on a copied rootfs), or whose command line names it.</summary>
    public List<int> ProcessesInDir()
    {
        var list = new List<int>();
        var prefix = Dir.TrimEnd('/') + "/";
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                // Hooks and helpers started from this test's scripts name the temp dir on their command line.
                if (File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ').Contains(prefix, StringComparison.Ordinal)) { list.Add(pid); continue; }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            foreach (var link in new[] { "root", "cwd" })
            {
                try
                {
                    var t = new FileInfo(Path.Combine(d, link)).LinkTarget;
                    if (t != null && (t == Dir || t.StartsWith(prefix, StringComparison.Ordinal))) { list.Add(pid); break; }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
        return list;
    }

    [DllImport("libc", SetLastError = true)] private static extern int kill(int pid, int sig);

    /// <summary>kill(2) of one pid.</summary>
    public static int Kill(int pid, int sig) => kill(pid, sig);

    /// <summary>SIGKILLs the processes of <see cref="ProcessesInDir"/> (this test's own hooks and containers), by pid.</summary>
    public void KillProcessesInDir()
    {
        foreach (var p in ProcessesInDir()) kill(p, 9);
    }
    [DllImport("libc", SetLastError = true)] private static extern int umount2(string target, int flags);

    public void Dispose()
    {
        foreach (var a in _cleanups.AsEnumerable().Reverse())
        {
            try { a(); } catch (Exception e) { TestContext.Progress.WriteLine($"cleanup action failed: {e.Message}"); }
        }
        foreach (var (tool, id) in _containers)
        {
            try
            {
                var (bin, root) = tool == "runc" ? (RuncBinary, RuncRoot) : (Env.Runcs, RuncsRoot);
                if (File.Exists(bin) || tool == "runc")
                    Run.Exec(bin, ["--root", root, "delete", "--force", id], timeoutMs: 20_000);
            }
            catch (Exception e) { TestContext.Progress.WriteLine($"cleanup delete {id}: {e.Message}"); }
        }
        // Whatever still runs from this test: recorded init pids, and processes rooted in the temp dir.
        var victims = new HashSet<int>(_pids.Where(p => File.Exists($"/proc/{p}/cmdline") && IsOurs(p)));
        if (Dir != null) foreach (var p in ProcessesInDir()) victims.Add(p);
        foreach (var p in victims) kill(p, 9);
        if (victims.Count > 0) Thread.Sleep(100);
        if (Dir == null) return;
        // Unmount anything left under the temp dir, deepest first.
        for (int round = 0; round < 3; round++)
        {
            var mounts = MountsUnder(Dir);
            if (mounts.Count == 0) break;
            foreach (var m in mounts.OrderByDescending(m => m.Length)) umount2(m, 2 /* MNT_DETACH */);
        }
        try { Directory.Delete(Dir, true); }
        catch (Exception)
        {
            try { Run.Exec("rm", ["-rf", "--one-file-system", Dir]); } catch (Exception) { }
        }
    }

    /// <summary>A recorded pid is still one of ours when it is not the test host and still looks like a container process.</summary>
    private bool IsOurs(int pid)
    {
        if (pid == Environment.ProcessId) return false;
        try
        {
            // Same pid namespace as ours means it is not a container pid 1 (they all get new pid namespaces in these tests,
            // except the ones that share the host's; those are recorded too and their root tells).
            var root = new FileInfo($"/proc/{pid}/root").LinkTarget;
            var exe = new FileInfo($"/proc/{pid}/exe").LinkTarget ?? "";
            return root != "/" || exe.Contains("runcs") || exe.StartsWith("/memfd:", StringComparison.Ordinal);
        }
        catch (Exception) { return false; }
    }
}
