using Runcs.Cli;

namespace Runcs.Containers;

// Commands whose implementation has not landed yet: each says so and exits 1 (never a silent success).
public static class SeccompCommand { public static int Run(Invocation inv) => throw new NotImplementedCommandException("seccomp"); }

