namespace Runcs.State;

/// <summary>
/// Status is derived, never trusted from disk: init alive with the recorded start time means
/// created (fifo still there), paused (freezer frozen) or running; anything else is stopped.
/// </summary>
public static class StatusDeriver
{
    public static string Derive(StoredState s, string containerDir, string procRoot = "/proc")
    {
        if (s.Pid <= 0) return Status.Stopped;
        var st = ProcessInfo.StartTime(s.Pid, procRoot);
        if (st is null || st.Value != s.PidStartTime) return Status.Stopped;
        if (!s.Started && File.Exists(Path.Combine(containerDir, StateStore.FifoName))) return Status.Created;
        if (IsFrozen(s)) return Status.Paused;
        return Status.Running;
    }

    /// <summary>True when the container's freezer (v1 freezer.state, v2 cgroup.freeze) says frozen.</summary>
    public static bool IsFrozen(StoredState s)
    {
        if (s.CgroupPaths is null) return false;
        try
        {
            if (s.CgroupPaths.TryGetValue("freezer", out var v1) && Linux.SmallFile.TryReadText(Path.Combine(v1, "freezer.state")) is { } fz)
                return fz.Trim() is "FROZEN" or "FREEZING";
            if (s.CgroupPaths.TryGetValue("", out var v2) && Linux.SmallFile.TryReadText(Path.Combine(v2, "cgroup.freeze")) is { } f2)
                return f2.Trim() == "1";
        }
        catch (IOException) { }
        return false;
    }

    public static OciState ToOci(StoredState s, string status) => new()
    {
        Id = s.Id,
        Pid = status == Status.Stopped ? 0 : s.Pid,
        Status = status,
        Bundle = s.Bundle,
        Rootfs = s.Rootfs,
        Created = s.Created,
        Owner = s.Owner,
        Annotations = s.EffectiveAnnotations,
    };
}
