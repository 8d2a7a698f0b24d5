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
