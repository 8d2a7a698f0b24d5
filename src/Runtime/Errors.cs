namespace Runcs;

/// <summary>
/// A failure the user should read: its message is one line that names what failed and why.
/// Thrown anywhere in the CLI process; caught once in <see cref="Program"/>, logged, exit 1.
/// </summary>
public class RuncsException : Exception
{
    public RuncsException(string message) : base(message) { }
    public RuncsException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A config that breaks a rule; carries the JSON pointer of the offending value.</summary>
public sealed class ConfigException : RuncsException
{
    public string Pointer { get; }
    public ConfigException(string pointer, string rule)
        : base($"invalid config: {(pointer.Length == 0 ? "/" : pointer)}: {rule}") => Pointer = pointer;
}

/// <summary>The command exists in runc's CLI but runcs does not carry it out yet.</summary>
public sealed class NotImplementedCommandException : RuncsException
{
    public NotImplementedCommandException(string what) : base($"{what} is not implemented in runcs yet") { }
}
