using Runcs.Linux;

namespace Runcs.Processes;

/// <summary>
/// A sealed memfd copy of the runcs binary, from which `runcs init` is executed: the container's
/// pid 1 then has /proc/1/exe pointing at an anonymous, write-sealed file, never at the host
/// binary, so a hostile container cannot overwrite the runtime (CVE-2019-5736).
/// </summary>
public static unsafe class SelfCopy
{
    public static int Create()
    {
        int src = Libc.open("/proc/self/exe", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (src < 0) throw new RuncsException($"opening /proc/self/exe: {Libc.LastError()}");
        int mfd = -1;
        try
        {
            mfd = Libc.memfd_create("runcs", Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
            if (mfd < 0) throw new RuncsException($"memfd_create: {Libc.LastError()}");
            while (true)
            {
                nint n = Libc.sendfile(mfd, src, null, 1 << 30);
                if (n < 0)
                {
                    if (Libc.Errno == 4) continue;
                    throw new RuncsException($"copying runcs into a memfd: {Libc.LastError()}");
                }
                if (n == 0) break;
            }
            // F_SEAL_FUTURE_WRITE rather than F_SEAL_WRITE: the latter makes the kernel wait for
            // every transient page reference (LRU batches on another CPU, compaction, reclaim) to
            // go and fails with EBUSY after ~150 ms when one lingers, which made `create` fail
            // about once in a few hundred runs under load. Nobody has mapped this memfd, so
            // refusing all future writes and writable mappings seals it just as completely.
            // Kernels before 5.1 lack FUTURE_WRITE (EINVAL): fall back to F_SEAL_WRITE there.
            const int baseSeals = Libc.F_SEAL_SEAL | Libc.F_SEAL_SHRINK | Libc.F_SEAL_GROW;
            if (Libc.fcntl(mfd, Libc.F_ADD_SEALS, baseSeals | Libc.F_SEAL_FUTURE_WRITE) != 0
                && (Libc.Errno != 22 || Libc.fcntl(mfd, Libc.F_ADD_SEALS, baseSeals | Libc.F_SEAL_WRITE) != 0))
                throw new RuncsException($"sealing the runcs memfd: {Libc.LastError()}");
            int r = mfd;
            mfd = -1;
            return r;
        }
        finally
        {
            Libc.close(src);
            if (mfd >= 0) Libc.close(mfd);
        }
    }
}
