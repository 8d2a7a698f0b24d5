using System.Runtime.InteropServices;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Init;

/// <summary>
/// The last steps of init, on its main thread, ending in execve: session, cwd, rlimits,
/// scheduler/ioprio/personality/affinity, no_new_privs, credentials as raw per-thread syscalls
/// (the glibc wrappers would broadcast to the runtime's other threads), capabilities, umask,
/// signal dispositions and mask reset, fds above the preserved ones closed on exec, seccomp
/// last (or before the capability drop without no_new_privs), execve.
/// </summary>
public sealed unsafe class Finalizer
{
    private const int PR_SET_NO_NEW_PRIVS = 38, PR_CAPBSET_DROP = 24, PR_SET_KEEPCAPS = 8, PR_CAP_AMBIENT = 47,
        PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4;
    private const uint CLOSE_RANGE_CLOEXEC = 4;
    private const int SECCOMP_SET_MODE_FILTER = 1;

    private readonly InitInstructions _ins;
    private readonly Process _p;
    private byte* _path;
    private byte** _argv, _envp;
    private string _exe = "";

    /// <summary>The pty slave that becomes stdio and controlling terminal, or -1.</summary>
    public int ConsoleSlave { get; init; } = -1;

    public Finalizer(InitInstructions ins)
    {
        _ins = ins;
        _p = ins.Config.Process ?? throw new RuncsException("the config has no process");
    }

    /// <summary>Resolves the executable inside the container (after pivot_root) as runc does, before `start`.</summary>
    public void Prepare()
    {
        var args = _p.Args ?? [];
        if (args.Count == 0) throw new RuncsException("process.args is empty");
        CheckRlimits();
        _exe = LookPath(args[0], _ins.Env, _p.Cwd);
        _path = Native(_exe);
        _argv = NativeArray(args);
        _envp = NativeArray(WithHome(_ins.Env, _p.User.Uid));
    }

    /// <summary>
    /// As runc: HOME is set from the container's /etc/passwd entry of the uid ("/" without one) when the
    /// config's env has none. Called after pivot_root, so /etc/passwd is the container's.
    /// </summary>
    public static List<string> WithHome(List<string> env, uint uid)
    {
        if (env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) return env;
        var home = "/";
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length >= 6 && uint.TryParse(f[2], out var u) && u == uid && f[5].Length > 0) { home = f[5]; break; }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return [.. env, "HOME=" + home];
    }

    /// <summary>
    /// Raising a hard limit needs CAP_SYS_RESOURCE: find out at create (as runc does), not after `start`.
    /// Only the hard limits above the current ones are raised here (harmless to init); the rest is applied at exec.
    /// </summary>
    private void CheckRlimits()
    {
        if (_p.Rlimits is null) return;
        ulong* lim = stackalloc ulong[2];
        ulong* old = stackalloc ulong[2];
        foreach (var rl in _p.Rlimits)
        {
            int res = Tables.RlimitNumber(rl.Type);
            if (RawSyscalls.Invoke(SysNr.prlimit64, 0, res, 0, (long)old) < 0 || rl.Hard <= old[1]) continue;
            lim[0] = old[0]; lim[1] = rl.Hard;
            long r = RawSyscalls.Invoke(SysNr.prlimit64, 0, res, (long)lim, 0);
            if (r < 0)
            {
                var hint = -r == 1 ? $" (raising the hard limit above {old[1]} needs CAP_SYS_RESOURCE)" : "";
                throw new RuncsException($"setting rlimit {rl.Type} to soft={rl.Soft} hard={rl.Hard}: {Libc.StrError((int)-r)}{hint}");
            }
        }
    }

    public static string LookPath(string name, List<string> env, string cwd)
    {
        if (name.Contains('/'))
        {
            var full = name.StartsWith('/') ? name : Path.Combine(cwd, name);
            var err = CheckExecutable(full);
            if (err != null) throw new RuncsException($"exec: \"{name}\": {err}");
            return name;
        }
        string? pathVar = null;
        foreach (var e in env) if (e.StartsWith("PATH=", StringComparison.Ordinal)) pathVar = e[5..];
        if (pathVar != null)
        {
            foreach (var dir in pathVar.Split(':'))
            {
                var d = dir.Length == 0 ? "." : dir;
                var candidate = Path.Combine(d, name);
                var full = candidate.StartsWith('/') ? candidate : Path.Combine(cwd, candidate);
                if (CheckExecutable(full) == null) return candidate;
            }
        }
        throw new RuncsException($"exec: \"{name}\": executable file not found in $PATH");
    }

    private static string? CheckExecutable(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            if (!fi.Exists) return Directory.Exists(path) ? "is a directory" : $"stat {path}: no such file or directory";
            var mode = fi.UnixFileMode;
            if ((mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0) return "permission denied";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return e.Message; }
    }

    private static byte* Native(string s)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }

    private static byte** NativeArray(List<string> items)
    {
        byte** a = (byte**)NativeMemory.Alloc((nuint)(sizeof(nint) * (items.Count + 1)));
        for (int i = 0; i < items.Count; i++) a[i] = Native(items[i]);
        a[items.Count] = null;
        return a;
    }

    private static void Sys(long r, string what)
    {
        if (r < 0) throw new RuncsException($"{what}: {Libc.StrError((int)-r)}");
    }

    /// <summary>Does everything up to execve. Returns only on failure (by throwing).</summary>
    public void Run()
    {
        RawSyscalls.Invoke(SysNr.setsid);
        if (ConsoleSlave >= 0)
        {
            Sys(RawSyscalls.Invoke(SysNr.ioctl, ConsoleSlave, Terminal.Pty.TIOCSCTTY, 0), "making the console the controlling terminal");
            for (int fd = 0; fd <= 2; fd++) Sys(RawSyscalls.Invoke(SysNr.dup3, ConsoleSlave, fd, 0), $"connecting fd {fd} to the console");
        }
        bool cwdDone = RawSyscalls.Invoke(SysNr.chdir, (long)Native(_p.Cwd)) == 0;
        ApplyRlimits();
        ApplyScheduling();
        if (_p.NoNewPrivileges) Sys(RawSyscalls.Invoke(SysNr.prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "setting no_new_privs");
        bool seccompEarly = _ins.SeccompProgram is { Length: > 0 } && !_p.NoNewPrivileges;
        ApplyCapabilitiesAndUser(seccompEarly);
        if (!cwdDone) Sys(RawSyscalls.Invoke(SysNr.chdir, (long)Native(_p.Cwd)), $"chdir to cwd {_p.Cwd}");
        RawSyscalls.Invoke(SysNr.umask, _p.User.Umask ?? 0x12);
        // Preserved fds (3..3+n-1) must survive execve; everything above is closed by it.
        for (int fd = 3; fd < 3 + _ins.ExtraFds; fd++) RawSyscalls.Invoke(SysNr.fcntl, fd, Libc.F_SETFD, 0);
        Sys(RawSyscalls.Invoke(SysNr.close_range, 3 + _ins.ExtraFds, uint.MaxValue, CLOSE_RANGE_CLOEXEC), "marking inherited fds close-on-exec");
        ResetSignals();
        if (_ins.SeccompProgram is { Length: > 0 } && !seccompEarly) InstallSeccomp();
        long r = RawSyscalls.Invoke(SysNr.execve, (long)_path, (long)_argv, (long)_envp);
        throw new RuncsException($"exec {_exe}: {Libc.StrError((int)-r)}");
    }

    private void ApplyRlimits()
    {
        if (_p.Rlimits is null) return;
        ulong* lim = stackalloc ulong[2];
        ulong* old = stackalloc ulong[2];
        foreach (var rl in _p.Rlimits)
        {
            int res = Tables.RlimitNumber(rl.Type);
            lim[0] = rl.Soft; lim[1] = rl.Hard;
            long r = RawSyscalls.Invoke(SysNr.prlimit64, 0, res, (long)lim, (long)old);
            if (r < 0)
            {
                RawSyscalls.Invoke(SysNr.prlimit64, 0, res, 0, (long)old);
                var hint = -r == 1 && rl.Hard > old[1] ? $" (raising the hard limit above {old[1]} needs CAP_SYS_RESOURCE)" : "";
                throw new RuncsException($"setting rlimit {rl.Type} to soft={rl.Soft} hard={rl.Hard}: {Libc.StrError((int)-r)}{hint}");
            }
        }
    }

    private void ApplyScheduling()
    {
        if (_ins.Config.Linux?.Personality is { } pers)
        {
            long persona = pers.Domain == "LINUX32" ? 0x0008 : 0;
            Sys(RawSyscalls.Invoke(SysNr.personality, persona), $"setting personality {pers.Domain}");
        }
        if (_p.Scheduler is { } s)
        {
            int policy = s.Policy switch
            {
                "SCHED_OTHER" => 0, "SCHED_FIFO" => 1, "SCHED_RR" => 2, "SCHED_BATCH" => 3, "SCHED_ISO" => 4, "SCHED_IDLE" => 5, "SCHED_DEADLINE" => 6, _ => 0,
            };
            ulong flags = 0;
            foreach (var f in s.Flags ?? [])
                flags |= f switch
                {
                    "SCHED_FLAG_RESET_ON_FORK" => 1UL, "SCHED_FLAG_RECLAIM" => 2UL, "SCHED_FLAG_DL_OVERRUN" => 4UL, "SCHED_FLAG_KEEP_POLICY" => 8UL,
                    "SCHED_FLAG_KEEP_PARAMS" => 16UL, "SCHED_FLAG_UTIL_CLAMP_MIN" => 32UL, "SCHED_FLAG_UTIL_CLAMP_MAX" => 64UL, _ => 0UL,
                };
            // struct sched_attr: size, policy, flags, nice, priority, runtime, deadline, period (56 bytes, v1)
            byte* attr = stackalloc byte[56];
            new Span<byte>(attr, 56).Clear();
            *(uint*)attr = 56; *(uint*)(attr + 4) = (uint)policy; *(ulong*)(attr + 8) = flags; *(int*)(attr + 16) = s.Nice;
            *(uint*)(attr + 20) = (uint)s.Priority; *(ulong*)(attr + 24) = s.Runtime; *(ulong*)(attr + 32) = s.Deadline; *(ulong*)(attr + 40) = s.Period;
            Sys(RawSyscalls.Invoke(SysNr.sched_setattr, 0, (long)attr, 0), $"setting scheduler {s.Policy}");
        }
        if (_p.IoPriority is { } io)
        {
            int cls = io.Class switch { "IOPRIO_CLASS_RT" => 1, "IOPRIO_CLASS_BE" => 2, _ => 3 };
            Sys(RawSyscalls.Invoke(SysNr.ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (cls << 13) | io.Priority), $"setting I/O priority {io.Class}/{io.Priority}");
        }
        if (_p.ExecCpuAffinity?.Final is { Length: > 0 } final) SetAffinity(0, final);
    }

    public static void SetAffinity(int pid, string cpus)
    {
        var mask = new ulong[16];
        foreach (var part in cpus.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            int a = int.Parse(ends[0].Trim()), b = ends.Length > 1 ? int.Parse(ends[1].Trim()) : a;
            for (int c = a; c <= b && c < 1024; c++) mask[c / 64] |= 1UL << (c % 64);
        }
        fixed (ulong* m = mask)
            Sys(RawSyscalls.Invoke(SysNr.sched_setaffinity, pid, mask.Length * 8, (long)m), $"setting CPU affinity {cpus}");
    }

    private void ApplyCapabilitiesAndUser(bool seccompEarly)
    {
        var caps = _p.Capabilities;
        var skipped = new List<string>();
        ulong bounding = Tables.CapabilityMask(caps?.Bounding, skipped), effective = Tables.CapabilityMask(caps?.Effective, skipped),
            permitted = Tables.CapabilityMask(caps?.Permitted, skipped), inheritable = Tables.CapabilityMask(caps?.Inheritable, skipped),
            ambient = Tables.CapabilityMask(caps?.Ambient, skipped);
        foreach (var s in skipped.Distinct()) Log.Debug($"capability {s} is not known to the running kernel; skipped");
        int last = Tables.LastCap;
        // Seccomp without no_new_privs needs CAP_SYS_ADMIN: install it while we still have it.
        if (seccompEarly) InstallSeccomp();
        for (int c = 0; c <= last; c++)
            if ((bounding & (1UL << c)) == 0)
                Sys(RawSyscalls.Invoke(SysNr.prctl, PR_CAPBSET_DROP, c, 0, 0, 0), $"dropping {Tables.Capabilities[c]} from the bounding set");
        Sys(RawSyscalls.Invoke(SysNr.prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0), "setting keep-caps");
        var u = _p.User;
        var gids = u.AdditionalGids ?? [];
        bool setgroupsDenied = false;
        try { setgroupsDenied = SmallFile.ReadText("/proc/self/setgroups").Trim() == "deny"; } catch (IOException) { }
        if (!setgroupsDenied || gids.Count > 0)
        {
            uint* g = stackalloc uint[Math.Max(1, gids.Count)];
            for (int i = 0; i < gids.Count; i++) g[i] = gids[i];
            Sys(RawSyscalls.Invoke(SysNr.setgroups, gids.Count, (long)g), "setting supplementary groups");
        }
        Sys(RawSyscalls.Invoke(SysNr.setresgid, u.Gid, u.Gid, u.Gid), $"setting gid {u.Gid}");
        Sys(RawSyscalls.Invoke(SysNr.setresuid, u.Uid, u.Uid, u.Uid), $"setting uid {u.Uid}");
        Sys(RawSyscalls.Invoke(SysNr.prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0), "clearing keep-caps");
        // capset v3: header {version, pid}, two data words {effective, permitted, inheritable}.
        uint* hdr = stackalloc uint[2] { 0x20080522, 0 };
        uint* data = stackalloc uint[6]
        {
            (uint)effective, (uint)permitted, (uint)inheritable,
            (uint)(effective >> 32), (uint)(permitted >> 32), (uint)(inheritable >> 32),
        };
        Sys(RawSyscalls.Invoke(SysNr.capset, (long)hdr, (long)data), "setting capabilities");
        RawSyscalls.Invoke(SysNr.prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        for (int c = 0; c <= last; c++)
            if ((ambient & (1UL << c)) != 0)
            {
                long r = RawSyscalls.Invoke(SysNr.prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
                if (r < 0) Log.Debug($"cannot raise ambient capability {Tables.Capabilities[c]}: {Libc.StrError((int)-r)}");
            }
    }

    private bool _seccompInstalled;

    /// <summary>Installs the filter now (notify profiles, during create); returns the listener fd.</summary>
    public int InstallSeccompNow()
    {
        int fd = InstallSeccomp();
        if (fd <= 0) throw new RuncsException("installing the seccomp filter: the kernel returned no notify listener");
        return fd;
    }

    private int InstallSeccomp()
    {
        if (_seccompInstalled) return -1;
        _seccompInstalled = true;
        var prog = _ins.SeccompProgram!;
        fixed (byte* p = prog)
        {
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            byte* fprog = stackalloc byte[16];
            *(ushort*)fprog = (ushort)(prog.Length / 8);
            *(byte**)(fprog + 8) = p;
            long r = RawSyscalls.Invoke(SysNr.seccomp, SECCOMP_SET_MODE_FILTER, _ins.SeccompFlags, (long)fprog);
            if (r == -22) throw new RuncsException($"installing the seccomp filter: the kernel rejected it (flags 0x{_ins.SeccompFlags:x} or the program): {Libc.StrError(22)}");
            Sys(r, "installing the seccomp filter");
            return (int)r;
        }
    }

    /// <summary>Default disposition for every signal and an empty mask: what the process expects at exec.</summary>
    private static void ResetSignals()
    {
        // struct kernel_sigaction { handler, flags, restorer, mask } — SIG_DFL is 0.
        ulong* sa = stackalloc ulong[4] { 0, 0, 0, 0 };
        for (int sig = 1; sig <= 64; sig++)
        {
            if (sig is 9 or 19) continue;
            RawSyscalls.Invoke(SysNr.rt_sigaction, sig, (long)sa, 0, 8);
        }
        ulong empty = 0;
        RawSyscalls.Invoke(SysNr.rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&empty, 0, 8);
    }
}
