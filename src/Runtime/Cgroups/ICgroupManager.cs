using Runcs.Spec;

namespace Runcs.Cgroups;

public enum FreezerState { Thawed, Frozen, Freezing }

/// <summary>
/// One container's cgroup(s) on this host, whatever the layout. Pure v1: a directory per mounted
/// controller. Pure v2: one directory. Hybrid: v1 directories for the v1 controllers plus one
/// directory on the cgroup2 mount for the controllers it owns (e.g. hugetlb).
/// </summary>
public interface ICgroupManager
{
    CgroupMode Mode { get; }

    /// <summary>Controller → directory, for state.json (v1 names as keys; "" is the cgroup2 directory, as runc does).</summary>
    Dictionary<string, string> Paths { get; }

    /// <summary>Makes the directories (cpuset cpus/mems copied from the parent on v1, v2 controllers
    /// enabled in each ancestor's subtree_control), and writes the real-time cpu budget, which v1 needs
    /// before a task joins. Idempotent.</summary>
    void Create(Resources? resources = null);

    /// <summary>Create (if needed) and move <paramref name="pid"/> into every directory (cgroup.procs).</summary>
    void Apply(int pid, Resources? resources = null);

    /// <summary>`exec`: move <paramref name="pid"/> into the existing cgroup(s) without creating anything;
    /// throws if the container's cgroup is gone.</summary>
    void Join(int pid);

    /// <summary>Create-time write of every resource in <paramref name="resources"/>; device rules are always
    /// written (deny-all, the config's rules, runc's default allow list), even when the config has none.</summary>
    void Set(Resources? resources);

    /// <summary>Update a running container: writes only what <paramref name="resources"/> carries; devices
    /// only when it has a device list.</summary>
    void Update(Resources resources);

    /// <summary>Freeze and wait until the kernel reports frozen (throws after the timeout, thawing again).</summary>
    void Freeze(TimeSpan? timeout = null);
    void Thaw();
    FreezerState GetFreezerState();

    /// <summary>Pids in the cgroup; with <paramref name="recursive"/>, also in sub-cgroups.</summary>
    List<int> GetPids(bool recursive = true);

    /// <summary>Sends <paramref name="signal"/> to every process (frozen first, so none can fork away).</summary>
    void SignalAll(int signal);

    CgroupStats GetStats();

    /// <summary>The kernel's OOM-kill counter for this cgroup (v1 memory.oom_control, v2 memory.events); 0 if unknown.</summary>
    ulong OomKillCount();

    /// <summary>A pollable notifier for OOM events (v1: eventfd + cgroup.event_control; v2: inotify on memory.events).</summary>
    IOomWatcher WatchOom();

    bool Exists();

    /// <summary>Remove every directory (children first), retrying while processes drain; with
    /// <paramref name="kill"/>, SIGKILL whatever is left first.</summary>
    void Destroy(bool kill = false, TimeSpan? timeout = null);
}

public interface IOomWatcher : IDisposable
{
    /// <summary>A descriptor that becomes readable on an event (for the caller's poll loop).</summary>
    int Fd { get; }

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1: forever). Returns the number of new OOM
    /// events, 0 on timeout, -1 once the cgroup is gone.</summary>
    int Wait(int timeoutMs);
}
