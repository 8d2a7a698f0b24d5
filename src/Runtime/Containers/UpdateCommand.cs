using Runcs.Cgroups;
using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>
/// `runcs update [--resources FILE|-] [flags] ID`: changes the cgroup limits of a running (or
/// paused/created) container and records the merged resources in its state, as runc does.
/// </summary>
public static class UpdateCommand
{
    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        using var lk = store.Lock(id);
        var s = store.Load(id);
        if (StatusDeriver.Derive(s, store.Dir(id)) == Status.Stopped) throw new RuncsException($"cannot update container {id}: it is stopped");
        var current = s.Config?.Linux?.Resources ?? new Spec.Resources();
        Spec.Resources delta, merged;
        if (inv.Get("resources") is { } file)
        {
            string json;
            try { json = file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new RuncsException($"reading resources {file}: {e.Message}"); }
            delta = UpdateFlags.ParseResourcesJson(json);
            merged = UpdateFlags.Merge(current, delta);
        }
        else
        {
            var flags = new Dictionary<string, string>();
            foreach (var name in UpdateFlags.Names)
                if (inv.Get(name) is { } v) flags[name] = v;
            if (inv.Get("l3-cache-schema") is not null || inv.Get("mem-bw-schema") is not null)
                throw new RuncsException("Intel RDT is not supported by runcs");
            (delta, merged) = UpdateFlags.Apply(flags, current);
        }
        ContainerCgroups.Of(s).Update(delta);
        if (s.Config is { } c)
        {
            c.Linux ??= new Spec.Linux();
            c.Linux.Resources = merged;
            store.Save(s);
        }
        return 0;
    }
}
