using System.Text;
using System.Text.Json;
using Runcs.Linux;

namespace Runcs.State;

/// <summary>
/// The state directory (<c>--root</c>): one directory per container holding <c>state.json</c>
/// (written by temp file + rename), <c>exec.fifo</c> while created-not-started, and a lock file
/// that every operation changing the container holds with <c>flock</c>.
/// </summary>
public sealed class StateStore
{
    public const string StateFile = "state.json";
    public const string FifoName = "exec.fifo";
    public const string LockFile = "lock";

    public string Root { get; }

    public StateStore(string root) => Root = root;

    /// <summary>runc's rule: letters, digits, _ + - . only; not empty; not "." or "..".</summary>
    public static void ValidateId(string id)
    {
        if (id.Length == 0) throw new RuncsException("container id cannot be empty");
        if (id.Length > 1024) throw new RuncsException("invalid container id: longer than 1024 characters");
        foreach (char c in id)
        {
            bool ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '+' or '-' or '.';
            if (!ok) throw new RuncsException($"invalid container id format: {id} (allowed: letters, digits, _ + - .)");
        }
        if (id is "." or "..") throw new RuncsException($"invalid container id format: {id}");
    }

    public string Dir(string id) { ValidateId(id); return Path.Combine(Root, id); }
    public string FifoPath(string id) => Path.Combine(Dir(id), FifoName);

    public bool Exists(string id) => File.Exists(Path.Combine(Dir(id), StateFile)) || Directory.Exists(Dir(id));

    /// <summary>Atomically claims the id (mkdir fails on an existing directory).</summary>
    public string ClaimDir(string id)
    {
        var dir = Dir(id);
        EnsureRoot();
        if (Posix.Mkdir(dir, 0b111_001_001) != 0)
        {
            int e = Libc.Errno;
            if (e == 17) throw new RuncsException($"container with id exists: {id}");
            throw new RuncsException($"creating state directory {dir}: {Libc.StrError(e)}");
        }
        return dir;
    }

    private void EnsureRoot()
    {
        if (!Directory.Exists(Root))
        {
            try { Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { throw new RuncsException($"creating root directory {Root}: {e.Message}"); }
        }
    }

    public StoredState Load(string id)
    {
        var file = Path.Combine(Dir(id), StateFile);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(file); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        { throw new RuncsException($"container does not exist: {id}"); }
        try
        {
            return Spec.ModelCodec.FromUtf8(bytes, Spec.ModelCodec.ReadStoredState);
        }
        catch (Exception e) when (e is JsonException or ConfigException)
        {
            throw new RuncsException($"state of container {id} is corrupt ({file}): {e.Message}");
        }
    }

    public bool TryLoad(string id, out StoredState? state)
    {
        try { state = Load(id); return true; }
        catch (RuncsException) { state = null; return false; }
    }

    /// <summary>Writes state.json via a temp file in the same directory and rename(2).</summary>
    public void Save(StoredState s)
    {
        var bytes = Spec.ModelCodec.Serialize(s, Spec.ModelCodec.WriteStoredState).Span;
        try { AtomicFile.Write(Path.Combine(Dir(s.Id), StateFile), bytes); }
        catch (IOException e) { throw new RuncsException($"saving the state of container {s.Id}: {e.Message}"); }
    }

    /// <summary>Takes the container's lock (blocking). Dispose to release.</summary>
    public ContainerLock Lock(string id) => ContainerLock.Acquire(Path.Combine(Dir(id), LockFile), id);

    public void RemoveDir(string id)
    {
        var dir = Dir(id);
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new RuncsException($"removing state directory {dir}: {e.Message}"); }
    }

    /// <summary>Ids of every container directory under the root, sorted.</summary>
    public List<string> ListIds()
    {
        var ids = new List<string>();
        if (!Directory.Exists(Root)) return ids;
        foreach (var d in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(d);
            if (name.StartsWith('.')) continue;
            if (File.Exists(Path.Combine(d, StateFile))) ids.Add(name);
        }
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }
}

/// <summary>An exclusive flock on a container's lock file.</summary>
public sealed class ContainerLock : IDisposable
{
    private int _fd;

    private ContainerLock(int fd) => _fd = fd;

    public static ContainerLock Acquire(string path, string id)
    {
        int fd = Libc.open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0x180);
        if (fd < 0)
        {
            int e = Libc.Errno;
            if (e == 2) throw new RuncsException($"container does not exist: {id}");
            throw new RuncsException($"opening lock file {path}: {Libc.StrError(e)}");
        }
        while (Libc.flock(fd, Libc.LOCK_EX) != 0)
        {
            int e = Libc.Errno;
            if (e == 4) continue; // EINTR
            Libc.close(fd);
            throw new RuncsException($"locking {path}: {Libc.StrError(e)}");
        }
        return new ContainerLock(fd);
    }

    public void Dispose()
    {
        if (_fd >= 0) { Libc.close(_fd); _fd = -1; }
    }
}
