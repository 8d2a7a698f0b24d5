using System.Text;

namespace Runcs.Cgroups;

public enum CgroupMode
{
    /// <summary>Only cgroup v1 hierarchies (a cgroup2 mount, if any, is ignored: it owns nothing).</summary>
    V1,
    /// <summary>v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified) that may own some controllers.</summary>
    Hybrid,
    /// <summary>/sys/fs/cgroup is itself the cgroup2 mount.</summary>
    V2,
}

/// <summary>Where detection reads from. Tests point every path into a temporary tree.</summary>
public sealed record CgroupHost(
    string Root = "/sys/fs/cgroup",
    string MountInfo = "/proc/self/mountinfo",
    string ProcCgroup = "/proc/self/cgroup",
    string SystemdRunDir = "/run/systemd/system");

/// <summary>One v1 hierarchy: its mount and the controllers it carries (e.g. "cpu","cpuacct").</summary>
public sealed record V1Hierarchy(string MountPoint, string MountRoot, IReadOnlyList<string> Controllers, string OwnPath)
{
    /// <summary>The directory of the caller's own cgroup in this hierarchy.</summary>
    public string OwnDir => CgroupLayout.JoinUnder(MountPoint, CgroupLayout.StripRoot(OwnPath, MountRoot));
}

/// <summary>
/// The host's cgroup layout, read once from mountinfo, /proc/self/cgroup and the unified mount's
/// cgroup.controllers. Only mounts under <see cref="CgroupHost.Root"/> count (bind mounts of a
/// hierarchy elsewhere, e.g. inside containers, are ignored).
/// </summary>
public sealed class CgroupLayout
{
    public CgroupMode Mode { get; }
    public string Root { get; }
    /// <summary>v1 controller name → hierarchy (co-mounted controllers share one entry). Named hierarchies (name=systemd) are not listed.</summary>
    public IReadOnlyDictionary<string, V1Hierarchy> V1 { get; }
    /// <summary>The cgroup2 mount point (pure v2: the root; hybrid: usually Root/unified); null on pure v1 without one.</summary>
    public string? UnifiedMount { get; }
    public string UnifiedMountRoot { get; } = "/";
    /// <summary>The caller's own cgroup on the unified hierarchy (the "0::" line).</summary>
    public string UnifiedOwnPath { get; } = "/";
    /// <summary>Controllers the cgroup2 mount owns (its root's cgroup.controllers). Empty on v1.</summary>
    public IReadOnlySet<string> UnifiedControllers { get; }

    public string? UnifiedOwnDir => UnifiedMount is null ? null : JoinUnder(UnifiedMount, StripRoot(UnifiedOwnPath, UnifiedMountRoot));

    internal CgroupLayout(CgroupMode mode, string root, Dictionary<string, V1Hierarchy> v1, string? unifiedMount,
        string unifiedMountRoot, string unifiedOwnPath, HashSet<string> unifiedControllers)
    {
        Mode = mode; Root = root; V1 = v1; UnifiedMount = unifiedMount; UnifiedMountRoot = unifiedMountRoot;
        UnifiedOwnPath = unifiedOwnPath; UnifiedControllers = unifiedControllers;
    }

    internal static CgroupLayout Detect(CgroupHost host, CgroupFs fs)
    {
        string root = host.Root.TrimEnd('/');
        if (root.Length == 0) root = "/";
        string mountinfo = fs.TryRead(host.MountInfo) ?? throw new RuncsException($"cannot read {host.MountInfo}");
        string? procCgroup = fs.TryRead(host.ProcCgroup);

        // /proc/self/cgroup: "4:memory:/a/b", "0::/".
        var ownV1 = new Dictionary<string, string>(StringComparer.Ordinal);
        string ownUnified = "/";
        foreach (var line in (procCgroup ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int c1 = line.IndexOf(':'), c2 = c1 < 0 ? -1 : line.IndexOf(':', c1 + 1);
            if (c2 < 0) continue;
            string ctrls = line[(c1 + 1)..c2], path = line[(c2 + 1)..];
            if (line[..c1] == "0" && ctrls.Length == 0) { ownUnified = path; continue; }
            foreach (var c in ctrls.Split(',', StringSplitOptions.RemoveEmptyEntries)) ownV1[c] = path;
        }

        var v1 = new Dictionary<string, V1Hierarchy>(StringComparer.Ordinal);
        string? unified = null, unifiedRoot = "/";
        foreach (var line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var m = ParseMountInfoLine(line);
            if (m is null) continue;
            var (mountRoot, mountPoint, fstype, superOpts) = m.Value;
            if (mountPoint != root && !mountPoint.StartsWith(root == "/" ? "/" : root + "/", StringComparison.Ordinal)) continue;
            if (fstype == "cgroup2")
            {
                unified ??= mountPoint;
                if (unified == mountPoint) unifiedRoot = mountRoot;
            }
            else if (fstype == "cgroup")
            {
                var ctrls = new List<string>();
                foreach (var o in superOpts.Split(','))
                    if (IsV1Controller(o)) ctrls.Add(o);
                if (ctrls.Count == 0) continue; // name=systemd and other named hierarchies
                string own = "/";
                foreach (var c in ctrls) if (ownV1.TryGetValue(c, out var p)) { own = p; break; }
                var h = new V1Hierarchy(mountPoint, mountRoot, ctrls, own);
                foreach (var c in ctrls) v1.TryAdd(c, h);
            }
        }

        var unifiedCtrls = new HashSet<string>(StringComparer.Ordinal);
        CgroupMode mode;
        if (unified is not null && unified == root) mode = CgroupMode.V2;
        else if (v1.Count > 0) mode = unified is null ? CgroupMode.V1 : CgroupMode.Hybrid;
        else if (unified is not null) mode = CgroupMode.V2;
        else throw new RuncsException($"no cgroup hierarchy is mounted under {root}");

        if (unified is not null)
        {
            string? text = fs.TryRead(Path.Combine(unified, "cgroup.controllers"));
            foreach (var c in (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                if (mode == CgroupMode.V2 || !v1.ContainsKey(c)) unifiedCtrls.Add(c);
        }
        return new CgroupLayout(mode, root, v1, unified, unifiedRoot ?? "/", ownUnified, unifiedCtrls);
    }

    // Controllers that v1 can mount; superoptions also hold rw/relatime/etc.
    internal static readonly string[] KnownV1Controllers =
        ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
         "net_cls", "net_prio", "perf_event", "rdma", "misc"];

    private static bool IsV1Controller(string opt) => Array.IndexOf(KnownV1Controllers, opt) >= 0;

    /// <summary>Parses one mountinfo line into (root, mount point, fstype, super options), unescaping \NNN.</summary>
    internal static (string Root, string MountPoint, string FsType, string SuperOptions)? ParseMountInfoLine(string line)
    {
        var f = line.Split(' ');
        int sep = Array.IndexOf(f, "-");
        if (sep < 6 || f.Length < sep + 4) return null;
        return (Unescape(f[3]), Unescape(f[4]), f[sep + 1], f[sep + 3]);
    }

    internal static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOct(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOct(string s, int i) =>
        i + 2 < s.Length && s[i] is >= '0' and <= '7' && s[i + 1] is >= '0' and <= '7' && s[i + 2] is >= '0' and <= '7';

    /// <summary>A cgroup path as seen in /proc/self/cgroup, made relative to a mount whose root is <paramref name="mountRoot"/>.</summary>
    internal static string StripRoot(string path, string mountRoot)
    {
        if (mountRoot == "/" || mountRoot.Length == 0) return path;
        if (path == mountRoot) return "/";
        if (path.StartsWith(mountRoot + "/", StringComparison.Ordinal)) return path[mountRoot.Length..];
        return path; // cgroup namespace or an unrelated root: best effort, as given
    }

    internal static string JoinUnder(string dir, string cgroupPath)
    {
        string rel = cgroupPath.Trim('/');
        return rel.Length == 0 ? dir : dir.TrimEnd('/') + "/" + rel;
    }
}
