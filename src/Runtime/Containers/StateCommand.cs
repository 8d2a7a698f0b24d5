using System.Text.Json;
using Runcs.Cli;
using Runcs.State;

namespace Runcs.Containers;

/// <summary>`runcs state ID`: the OCI state (plus runc's extra fields), status derived live.</summary>
public static class StateCommand
{
    public static int Run(Invocation inv)
    {
        var store = new StateStore(inv.Global.Root);
        var id = inv.Args[0];
        var s = store.Load(id);
        var oci = StatusDeriver.ToOci(s, StatusDeriver.Derive(s, store.Dir(id)));
        Console.Out.Write(JsonSerializer.Serialize(oci, RuncsJson.Indented.OciState) + "\n");
        return 0;
    }
}
