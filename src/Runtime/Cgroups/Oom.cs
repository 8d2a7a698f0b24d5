using System.Runtime.InteropServices;

namespace Runcs.Cgroups;

/// <summary>
/// v1 OOM notification: an eventfd registered in cgroup.event_control against memory.oom_control.
/// The kernel signals the eventfd on every OOM and once more when the cgroup is removed; the
/// latter is told apart by cgroup.event_control no longer existing.
/// </summary>
internal sealed unsafe class V1OomWatcher : IOomWatcher
{
    private readonly int _efd, _ofd;
    private readonly string _dir;

    public V1OomWatcher(CgroupFs fs, string dir)
    {
        _dir = dir;
        _efd = Native.EventFd(0, Native.EFD_CLOEXEC);
        if (_efd < 0) throw new CgroupIoException("eventfd for", dir, Marshal.GetLastPInvokeError());
        string oc = Path.Combine(dir, "memory.oom_control");
        _ofd = Native.Open(oc, Native.O_RDONLY | Native.O_CLOEXEC, 0);
        if (_ofd < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            Native.Close(_efd);
            throw new CgroupIoException("opening", oc, e);
        }
        try { fs.Write(Path.Combine(dir, "cgroup.event_control"), $"{_efd} {_ofd}"); }
        catch { Dispose(); throw; }
    }

    public int Fd => _efd;

    public int Wait(int timeoutMs)
    {
        var pfd = new Native.PollFd { Fd = _efd, Events = Native.POLLIN };
        int r = Native.Poll(&pfd, 1, timeoutMs);
        if (r <= 0) return 0;
        ulong count;
        if (Native.Read(_efd, (byte*)&count, 8) != 8) return 0;
        if (!File.Exists(Path.Combine(_dir, "cgroup.event_control"))) return -1;
        return (int)Math.Min(count, int.MaxValue);
    }

    public void Dispose()
    {
        Native.Close(_efd);
        Native.Close(_ofd);
    }
}

/// <summary>v2 OOM notification: inotify on memory.events, counting increases of oom_kill.</summary>
internal sealed unsafe class V2OomWatcher : IOomWatcher
{
    private readonly int _ifd;
    private readonly CgroupFs _fs;
    private readonly string _events;
    private ulong _last;

    public V2OomWatcher(CgroupFs fs, string dir)
    {
        _fs = fs;
        _events = Path.Combine(dir, "memory.events");
        _ifd = Native.InotifyInit1(Native.IN_CLOEXEC | Native.IN_NONBLOCK);
        if (_ifd < 0) throw new CgroupIoException("inotify for", dir, Marshal.GetLastPInvokeError());
        if (Native.InotifyAddWatch(_ifd, _events, Native.IN_MODIFY) < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            Native.Close(_ifd);
            throw new CgroupIoException("watching", _events, e);
        }
        _last = Count() ?? 0;
    }

    private ulong? Count()
    {
        string? text = _fs.TryRead(_events);
        return text is null ? null : CgroupManager.KeyValues(text).GetValueOrDefault("oom_kill");
    }

    public int Fd => _ifd;

    public int Wait(int timeoutMs)
    {
        var pfd = new Native.PollFd { Fd = _ifd, Events = Native.POLLIN };
        if (Native.Poll(&pfd, 1, timeoutMs) <= 0) return 0;
        byte* buf = stackalloc byte[4096];
        while (Native.Read(_ifd, buf, 4096) > 0) { }
        ulong? now = Count();
        if (now is null) return -1;
        int n = (int)Math.Min(now.Value - Math.Min(_last, now.Value), int.MaxValue);
        _last = now.Value;
        return n;
    }

    public void Dispose() => Native.Close(_ifd);
}

internal sealed partial class CgroupManager
{
    public IOomWatcher WatchOom()
    {
        if (V1Dir("memory") is { } dir) return new V1OomWatcher(_fs, dir);
        if (V2Has("memory")) return new V2OomWatcher(_fs, _v2!);
        throw new RuncsException("cannot watch for OOM events: no memory cgroup controller");
    }
}
