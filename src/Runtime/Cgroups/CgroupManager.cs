using System.Diagnostics;
using Runcs.Spec;

namespace Runcs.Cgroups;

/// <summary>
/// Detects the host layout once (lazily) and makes managers for containers. Tests construct it
/// with a <see cref="CgroupHost"/> whose paths point into a temporary tree.
/// </summary>
public sealed class CgroupManagerFactory
{
    private readonly CgroupHost _host;
    private readonly CgroupFs _fs;
    private readonly Lazy<CgroupLayout> _layout;

    /// <summary>Receives debug notes (skipped settings etc.); the CLI routes them to --log at debug level.</summary>
    public Action<string>? Debug { get; set; }

    public CgroupManagerFactory(CgroupHost? host = null) : this(host ?? new CgroupHost(), CgroupFs.Real) { }

    internal CgroupManagerFactory(CgroupHost host, CgroupFs fs)
    {
        _host = host;
        _fs = fs;
        _layout = new Lazy<CgroupLayout>(() => CgroupLayout.Detect(_host, _fs), LazyThreadSafetyMode.None);
    }

    public CgroupLayout Layout => _layout.Value;

    /// <summary>The manager for a new container (nothing is created until <see cref="ICgroupManager.Create"/>/<see cref="ICgroupManager.Apply"/>).</summary>
    public ICgroupManager ForContainer(string containerId, string? cgroupsPath, bool systemdDriver = false)
    {
        var cp = CgroupPath.Resolve(cgroupsPath, containerId, systemdDriver, _host.SystemdRunDir);
        var l = Layout;
        var v1 = new Dictionary<string, string>(StringComparer.Ordinal);
        if (l.Mode != CgroupMode.V2)
            foreach (var (ctrl, h) in l.V1)
                v1[ctrl] = cp.DirIn(h.MountPoint, h.OwnDir);
        string? v2 = null;
        if (l.Mode != CgroupMode.V1 && l.UnifiedMount is not null)
            v2 = cp.DirIn(l.UnifiedMount, l.UnifiedOwnDir!);
        return new CgroupManager(l, _fs, v1, v2, Debug);
    }

    /// <summary>The manager for an existing container, from the paths stored in its state file.</summary>
    public ICgroupManager FromPaths(IReadOnlyDictionary<string, string> paths)
    {
        var l = Layout;
        var v1 = new Dictionary<string, string>(StringComparer.Ordinal);
        string? v2 = null;
        foreach (var (k, dir) in paths)
        {
            if (k.Length == 0) v2 = dir;
            else if (l.V1.ContainsKey(k)) v1[k] = dir;
        }
        return new CgroupManager(l, _fs, v1, v2, Debug);
    }
}

internal sealed partial class CgroupManager : ICgroupManager
{
    private readonly CgroupLayout _layout;
    private readonly CgroupFs _fs;
    private readonly Action<string>? _debug;
    private readonly Dictionary<string, string> _v1;
    private readonly string? _v2;
    private HashSet<string>? _v2Controllers;

    internal CgroupManager(CgroupLayout layout, CgroupFs fs, Dictionary<string, string> v1, string? v2, Action<string>? debug)
    {
        _layout = layout; _fs = fs; _v1 = v1; _v2 = v2; _debug = debug;
    }

    public CgroupMode Mode => _layout.Mode;

    public Dictionary<string, string> Paths
    {
        get
        {
            var d = new Dictionary<string, string>(_v1, StringComparer.Ordinal);
            if (_v2 is not null) d[""] = _v2;
            return d;
        }
    }

    private void Debug(string msg) => _debug?.Invoke("cgroups: " + msg);

    /// <summary>Each distinct directory once (co-mounted v1 controllers share one), v1 first, then v2.</summary>
    private IEnumerable<string> AllDirs()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in _v1.Values) if (seen.Add(d)) yield return d;
        if (_v2 is not null && seen.Add(_v2)) yield return _v2;
    }

    private string? V1Dir(string ctrl) => _v1.TryGetValue(ctrl, out var d) ? d : null;

    /// <summary>Whether the cgroup2 directory can take <paramref name="ctrl"/>'s files.</summary>
    private bool V2Has(string ctrl)
    {
        if (_v2 is null) return false;
        if (_layout.Mode == CgroupMode.Hybrid && !_layout.UnifiedControllers.Contains(ctrl)) return false;
        if (_v2Controllers is null)
        {
            string? text = _fs.TryRead(Path.Combine(_v2, "cgroup.controllers"));
            if (text is null) return _layout.UnifiedControllers.Contains(ctrl);
            _v2Controllers = new HashSet<string>(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        }
        return _v2Controllers.Contains(ctrl);
    }

    private string MountOf(string dir)
    {
        foreach (var h in _layout.V1.Values)
            if (dir == h.MountPoint || dir.StartsWith(h.MountPoint + "/", StringComparison.Ordinal)) return h.MountPoint;
        if (_layout.UnifiedMount is { } u && (dir == u || dir.StartsWith(u + "/", StringComparison.Ordinal))) return u;
        throw new RuncsException($"cgroup directory {dir} is not under a cgroup mount");
    }

    // ---------------------------------------------------------------- create / apply

    public void Create(Resources? resources = null)
    {
        foreach (var (ctrl, dir) in _v1)
        {
            if (_v1.First(kv => kv.Value == dir).Key != ctrl) continue; // co-mounted: once
            bool isCpuset = _layout.V1[ctrl].Controllers.Contains("cpuset");
            MakeDirs(MountOf(dir), dir, isCpuset ? CopyCpusetFromParent : null);
        }
        if (_v2 is not null) MakeDirs(MountOf(_v2), _v2, EnableSubtreeControllers, beforeChild: true);
        _v2Controllers = null;

        // v1 refuses a real-time task whose group has no rt budget: write it before joining (as runc does).
        var cpu = resources?.Cpu;
        if (cpu is not null && V1Dir("cpu") is { } cpuDir) SetV1RealTime(cpuDir, cpu);
    }

    /// <summary>mkdir each level from the mount down; <paramref name="hook"/> runs on each level (after
    /// creating it, or with <paramref name="beforeChild"/>: on each parent before its child is made).</summary>
    private void MakeDirs(string mount, string dir, Action<string, string>? hook, bool beforeChild = false)
    {
        string rel = dir.Length > mount.Length ? dir[(mount.Length + 1)..] : "";
        string cur = mount;
        foreach (var part in rel.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string parent = cur;
            cur = parent + "/" + part;
            if (beforeChild) hook?.Invoke(parent, cur);
            _fs.MakeDir(cur);
            if (!beforeChild) hook?.Invoke(parent, cur);
        }
    }

    // A new v1 cpuset has empty cpus/mems and refuses tasks until they are set: inherit the parent's.
    private void CopyCpusetFromParent(string parent, string dir)
    {
        foreach (var f in new[] { "cpuset.cpus", "cpuset.mems" })
        {
            string mine = (_fs.TryRead(Path.Combine(dir, f)) ?? "").Trim();
            if (mine.Length != 0) continue;
            string theirs = (_fs.TryRead(Path.Combine(parent, f)) ?? "").Trim();
            if (theirs.Length != 0) _fs.Write(Path.Combine(dir, f), theirs);
        }
    }

    // Make the controllers the parent has available to its children (errors are ignored here: a
    // controller that cannot be enabled is reported when a resource needs it).
    private void EnableSubtreeControllers(string parent, string child)
    {
        string? text = _fs.TryRead(Path.Combine(parent, "cgroup.controllers"));
        if (text is null) return;
        var ctrls = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (ctrls.Length == 0) return;
        string file = Path.Combine(parent, "cgroup.subtree_control");
        string enabled = _fs.TryRead(file) ?? "";
        var missing = ctrls.Where(c => !enabled.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Contains(c)).ToArray();
        if (missing.Length == 0) return;
        try { _fs.Write(file, string.Join(' ', missing.Select(c => "+" + c))); }
        catch (CgroupIoException)
        {
            foreach (var c in missing)
            {
                try { _fs.Write(file, "+" + c); }
                catch (CgroupIoException e) { Debug($"cannot enable {c} in {file}: {e.Message}"); }
            }
        }
    }

    public void Apply(int pid, Resources? resources = null)
    {
        Create(resources);
        string p = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var dir in AllDirs())
        {
            try { _fs.Write(Path.Combine(dir, "cgroup.procs"), p); }
            catch (CgroupIoException e) { throw new RuncsException($"adding pid {pid} to cgroup {dir}: {e.Message}", e); }
        }
    }

    public void Join(int pid)
    {
        string p = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var dir in AllDirs())
        {
            if (!_fs.DirExists(dir)) throw new RuncsException($"cannot join cgroup {dir}: it does not exist (is the container still running?)");
            try { _fs.Write(Path.Combine(dir, "cgroup.procs"), p); }
            catch (CgroupIoException e) { throw new RuncsException($"adding pid {pid} to cgroup {dir}: {e.Message}", e); }
        }
    }

    public bool Exists() => AllDirs().Any(_fs.DirExists);

    // ---------------------------------------------------------------- pids / signals

    private string? PidsDir()
    {
        foreach (var c in new[] { "freezer", "pids", "memory", "devices", "cpu" })
            if (V1Dir(c) is { } d) return d;
        return _v2 ?? _v1.Values.FirstOrDefault();
    }

    public List<int> GetPids(bool recursive = true)
    {
        var pids = new List<int>();
        if (PidsDir() is { } dir) CollectPids(dir, recursive, pids);
        return pids;
    }

    private void CollectPids(string dir, bool recursive, List<int> into)
    {
        string? text = _fs.TryRead(Path.Combine(dir, "cgroup.procs"));
        if (text is null) return;
        foreach (var l in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(l.Trim(), out int pid)) into.Add(pid);
        if (recursive)
            foreach (var sub in _fs.SubDirs(dir)) CollectPids(sub, true, into);
    }

    public void SignalAll(int signal)
    {
        if (signal == 9 && _v2 is not null && V1Dir("freezer") is null && _fs.FileExists(Path.Combine(_v2, "cgroup.kill")))
        {
            _fs.Write(Path.Combine(_v2, "cgroup.kill"), "1");
            return;
        }
        // Nothing inside (the usual `delete` of a stopped container): no freeze/thaw round trip.
        // Each one flips a kernel static key and costs milliseconds; an empty cgroup cannot gain a
        // process meanwhile, as only a process inside could fork one into it.
        if (GetPids(true).Count == 0) return;
        bool frozen = false, wasPaused = false;
        if (HasFreezer())
        {
            if (GetFreezerState() == FreezerState.Thawed)
            {
                try { Freeze(TimeSpan.FromSeconds(2)); frozen = true; }
                catch (RuncsException e) { Debug($"freezing before signalling failed, signalling anyway: {e.Message}"); }
            }
            else wasPaused = true;
        }
        try
        {
            foreach (var pid in GetPids(true))
                if (Native.Kill(pid, signal) != 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != CgroupFs.ESRCH)
                    Debug($"kill({pid}, {signal}) failed");
        }
        // A v1-frozen task does not act on SIGKILL until thawed: a paused container is thawed so the kill
        // takes effect (runc does the same); other signals leave a paused container paused.
        finally { if (frozen || (wasPaused && signal == 9)) Thaw(); }
    }

    // ---------------------------------------------------------------- freezer

    private bool HasFreezer() => V1Dir("freezer") is not null || (_v2 is not null && _fs.FileExists(Path.Combine(_v2, "cgroup.freeze")));

    public FreezerState GetFreezerState()
    {
        if (V1Dir("freezer") is { } fz)
        {
            string s = (_fs.TryRead(Path.Combine(fz, "freezer.state")) ?? "THAWED").Trim();
            return s switch { "FROZEN" => FreezerState.Frozen, "FREEZING" => FreezerState.Freezing, _ => FreezerState.Thawed };
        }
        if (_v2 is not null)
        {
            string want = (_fs.TryRead(Path.Combine(_v2, "cgroup.freeze")) ?? "0").Trim();
            if (want != "1") return FreezerState.Thawed;
            return V2Frozen() ? FreezerState.Frozen : FreezerState.Freezing;
        }
        return FreezerState.Thawed;
    }

    private bool V2Frozen()
    {
        foreach (var l in (_fs.TryRead(Path.Combine(_v2!, "cgroup.events")) ?? "").Split('\n'))
            if (l.Trim() == "frozen 1") return true;
        return false;
    }

    public void Freeze(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var sw = Stopwatch.StartNew();
        if (V1Dir("freezer") is { } fz)
        {
            string file = Path.Combine(fz, "freezer.state");
            _fs.Write(file, "FROZEN");
            var lastWrite = sw.Elapsed;
            int sleep = 1;
            while (true)
            {
                string s = (_fs.TryRead(file) ?? "").Trim();
                if (s == "FROZEN") return;
                if (sw.Elapsed > limit)
                {
                    _fs.Write(file, "THAWED");
                    throw new RuncsException($"freezing cgroup {fz}: still {s} after {limit.TotalSeconds:0.#}s; thawed it again");
                }
                // A task forking while the freeze is in flight can leave it FREEZING: ask again.
                if (sw.Elapsed - lastWrite > TimeSpan.FromMilliseconds(100)) { _fs.Write(file, "FROZEN"); lastWrite = sw.Elapsed; }
                Thread.Sleep(sleep);
                sleep = Math.Min(sleep * 2, 20);
            }
        }
        if (_v2 is not null && _fs.FileExists(Path.Combine(_v2, "cgroup.freeze")))
        {
            _fs.Write(Path.Combine(_v2, "cgroup.freeze"), "1");
            int sleep = 1;
            while (!V2Frozen())
            {
                if (sw.Elapsed > limit)
                {
                    _fs.Write(Path.Combine(_v2, "cgroup.freeze"), "0");
                    throw new RuncsException($"freezing cgroup {_v2}: cgroup.events did not report frozen after {limit.TotalSeconds:0.#}s; thawed it again");
                }
                Thread.Sleep(sleep);
                sleep = Math.Min(sleep * 2, 20);
            }
            return;
        }
        throw new RuncsException("cannot pause: no freezer (v1 freezer controller or cgroup v2 cgroup.freeze) is available");
    }

    public void Thaw()
    {
        var sw = Stopwatch.StartNew();
        if (V1Dir("freezer") is { } fz)
        {
            string file = Path.Combine(fz, "freezer.state");
            _fs.Write(file, "THAWED");
            while ((_fs.TryRead(file) ?? "THAWED").Trim() != "THAWED")
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new RuncsException($"thawing cgroup {fz}: still not THAWED");
                Thread.Sleep(1);
            }
            return;
        }
        if (_v2 is not null && _fs.FileExists(Path.Combine(_v2, "cgroup.freeze")))
        {
            _fs.Write(Path.Combine(_v2, "cgroup.freeze"), "0");
            while (V2Frozen())
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new RuncsException($"thawing cgroup {_v2}: cgroup.events still reports frozen");
                Thread.Sleep(1);
            }
            return;
        }
        throw new RuncsException("cannot resume: no freezer (v1 freezer controller or cgroup v2 cgroup.freeze) is available");
    }

    // ---------------------------------------------------------------- destroy

    public void Destroy(bool kill = false, TimeSpan? timeout = null)
    {
        if (kill && Exists()) SignalAll(9);
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(5);
        List<string>? errors = null;
        foreach (var dir in AllDirs())
        {
            try { RemoveTree(dir, deadline, limit); }
            catch (CgroupIoException e) { (errors ??= []).Add(e.Message); }
        }
        if (errors is not null)
        {
            var pids = GetPids(true);
            string left = pids.Count > 0 ? $" (processes still inside: {string.Join(' ', pids.Take(10))})" : "";
            throw new RuncsException($"removing cgroup: {errors[0]}{left}");
        }
    }

    private void RemoveTree(string dir, Stopwatch sw, TimeSpan limit)
    {
        if (!_fs.DirExists(dir)) return;
        foreach (var sub in _fs.SubDirs(dir)) RemoveTree(sub, sw, limit);
        int delay = 10;
        while (true)
        {
            try { _fs.RemoveDir(dir); return; }
            catch (CgroupIoException e) when (e.Errno is CgroupFs.EBUSY or CgroupFs.ENOTEMPTY or CgroupFs.EAGAIN && sw.Elapsed < limit)
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 200);
            }
        }
    }

    // ---------------------------------------------------------------- helpers for resource writers

    private void W(string dir, string file, string value) => _fs.Write(Path.Combine(dir, file), value);

    private bool Has(string dir, string file) => _fs.FileExists(Path.Combine(dir, file));

    private static string S(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
    private static string S(ulong v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static RuncsException Missing(string what, string ctrl) =>
        new($"cannot set {what}: the {ctrl} cgroup controller is not available on this host");
}
