namespace Runcs.Cli;

public static class CommandLine
{
    public static int Run(string[] args) { Console.Error.WriteLine("runcs: not ready"); return 1; }
}
