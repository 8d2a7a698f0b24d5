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
            if (Libc.fcntl(mfd, Libc.F_ADD_SEALS, Libc.F_SEAL_SEAL | Libc.F_SEAL_SHRINK | Libc.F_SEAL_GROW | Libc.F_SEAL_WRITE) != 0)
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
