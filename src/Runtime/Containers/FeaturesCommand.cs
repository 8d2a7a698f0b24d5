using System.Text.Json;
using Runcs.Cli;
using Runcs.Spec;

namespace Runcs.Containers;

/// <summary>`runcs features`: the OCI features document for this build and host.</summary>
public static class FeaturesCommand
{
    public static int Run(Invocation inv)
    {
        Console.Out.Write(JsonSerializer.Serialize(FeaturesInfo.Build(), RuncsJson.Indented.Features) + "\n");
        return 0;
    }
}
