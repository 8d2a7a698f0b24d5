namespace Runcs.Init;

/// <summary>`runcs init`: the container's init, started by runcs itself from a sealed memfd copy.</summary>
public static class InitProcess
{
    public static int Run(string[] argv)
    {
        Console.Error.WriteLine("runcs: init must only be started by runcs itself");
        return 1;
    }
}
