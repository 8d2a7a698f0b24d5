using Runcs.Cgroups;

namespace Runcs.Containers;

/// <summary>The one cgroup manager factory of a runcs process (host layout detected lazily, once).</summary>
internal static class ContainerCgroups
{
    private static CgroupManagerFactory? _factory;
    public static CgroupManagerFactory Factory => _factory ??= new CgroupManagerFactory { Debug = Log.Debug };

    /// <summary>The container's manager from its recorded paths; a clear error when it has none.</summary>
    public static ICgroupManager Of(State.StoredState s) =>
        s.CgroupPaths is { Count: > 0 } p ? Factory.FromPaths(p) : throw new RuncsException($"container {s.Id} has no cgroups recorded");
}

/// <summary>
/// Moving a process between cgroups takes the kernel's global cgroup_threadgroup_rwsem for
/// writing, whose first acquisition waits for an RCU grace period (10-16 ms measured here); an
/// acquisition shortly after another one is nearly free (0.2 ms). create therefore starts, on a
/// background thread and before it parses the config, a no-op move of runcs itself into the cgroup
/// it is already in, so that placing the container's first process — which is on the critical
/// path — finds the lock warm. The no-op changes nothing: same process, same cgroup.
/// </summary>
internal static class CgroupAttachPrewarm
{
    public static void Start()
    {
        var t = new Thread(Run) { IsBackground = true, Name = "cgroup-prewarm" };
        t.Start();
    }

    private static void Run()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/cgroup"))
            {
                // "N:controllers:/path" — the first hierarchy mounted at its usual place will do.
                var parts = line.Split(':', 3);
                if (parts.Length != 3) continue;
                string mount = parts[1].Length == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + parts[1].Replace("name=", "");
                if (parts[1].Length == 0 && Directory.Exists("/sys/fs/cgroup/unified")) mount = "/sys/fs/cgroup/unified";
                var procs = Path.Combine(mount + parts[2].TrimEnd('/'), "cgroup.procs");
                if (!File.Exists(procs)) continue;
                File.WriteAllText(procs, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* only an optimisation */ }
    }
}
