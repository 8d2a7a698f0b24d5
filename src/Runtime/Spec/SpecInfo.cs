namespace Runcs.Spec;

public static class SpecInfo
{
    /// <summary>The runtime-spec version runcs implements and writes into state and `spec` output.</summary>
    public const string Version = "1.3.0";
}
