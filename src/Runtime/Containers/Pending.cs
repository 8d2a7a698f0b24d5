using Runcs.Cli;

namespace Runcs.Containers;

// Commands whose implementation has not landed yet: each says so and exits 1 (never a silent success).
public static class EventsCommand { public static int Run(Invocation inv) => throw new NotImplementedCommandException("events"); }
public static class PsCommand { public static int Run(Invocation inv) => throw new NotImplementedCommandException("ps"); }
public static class UpdateCommand { public static int Run(Invocation inv) => throw new NotImplementedCommandException("update"); }
public static class SeccompCommand { public static int Run(Invocation inv) => throw new NotImplementedCommandException("seccomp"); }
public static class PauseCommand
{
    public static int Pause(Invocation inv) => throw new NotImplementedCommandException("pause");
    public static int Resume(Invocation inv) => throw new NotImplementedCommandException("resume");
}
