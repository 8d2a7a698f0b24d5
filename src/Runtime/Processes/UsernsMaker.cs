using System.Text;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Processes;

/// <summary>
/// Makes a user namespace with given id mappings and returns an fd to it (for idmapped mounts):
/// a child cloned straight into a new user namespace (restricted sequencer: it only waits), the
/// parent writes its maps, opens /proc/&lt;child&gt;/ns/user, and lets it exit.
/// </summary>
public static unsafe class UsernsMaker
{
    private const long CLONE_NEWUSER = 0x10000000;

    public static int Make(List<IdMapping> uids, List<IdMapping> gids)
    {
        int[] sv = new int[2];
        fixed (int* p = sv)
            if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, p) != 0)
                throw new RuncsException($"creating a socket for the idmap user namespace: {Libc.LastError()}");
        using var ch = new SyncChannel(sv[0]);
        int childFd = sv[1];
        using var plan = new LaunchPlan();
        plan.Syscall(SysNr.prctl, "making the helper non-dumpable", 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
        plan.CloseAllExcept([childFd], 3, "closing the runtime's other file descriptors");
        plan.WaitByte((byte)'X', "waiting while the mappings are written");
        plan.Exit(0, "exit");
        long pid = InitLauncher.CloneSequencer(plan, childFd, CLONE_NEWUSER | Libc.SIGCHLD);
        Libc.close(childFd);
        if (pid < 0) throw new RuncsException($"creating a user namespace for an idmapped mount: {Libc.StrError((int)-pid)}");
        try
        {
            static string Lines(List<IdMapping> m) => string.Concat(m.Select(x => $"{x.ContainerID} {x.HostID} {x.Size}\n"));
            try
            {
                File.WriteAllText($"/proc/{pid}/gid_map", Lines(gids));
                File.WriteAllText($"/proc/{pid}/uid_map", Lines(uids));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new RuncsException($"writing the mappings of an idmapped mount: {e.Message}");
            }
            int fd = Libc.open($"/proc/{pid}/ns/user", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0) throw new RuncsException($"opening the idmap user namespace: {Libc.LastError()}");
            return fd;
        }
        finally
        {
            ch.SendRawByte((byte)'X');
            if (Libc.Wait((int)pid) is null) Libc.kill((int)pid, Libc.SIGKILL);
        }
    }

    /// <summary>A key identifying a pair of mappings (mounts with equal mappings share one namespace).</summary>
    public static string Key(List<IdMapping> uids, List<IdMapping> gids)
    {
        var sb = new StringBuilder();
        foreach (var m in uids) sb.Append(m.ContainerID).Append(':').Append(m.HostID).Append(':').Append(m.Size).Append(',');
        sb.Append('/');
        foreach (var m in gids) sb.Append(m.ContainerID).Append(':').Append(m.HostID).Append(':').Append(m.Size).Append(',');
        return sb.ToString();
    }
}
