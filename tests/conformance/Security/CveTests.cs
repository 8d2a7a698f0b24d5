using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Security;

/// <summary>
/// runc's published vulnerabilities as regression tests (issue #8): each test reproduces the attack
/// of the advisory with a hostile image or config and shows runcs fails safely. The test name starts
/// with the CVE; the comment says what the advisory describes and what the test proves.
/// </summary>
[TestFixture, NonParallelizable, Category("Security")]
public class CveTests
{
    // ------------------------------------------------------------------ CVE-2019-5736

    /// <summary>
    /// CVE-2019-5736: a container process opens /proc/&lt;runtime pid&gt;/exe (or its own /proc/self/exe
    /// while the runtime is exec'ing it) and writes the host runtime binary. runcs runs init from the
    /// binary seen through a private read-only overlayfs mount (or, where that is unavailable, from a
    /// sealed memfd copy): /proc/1/exe of a created container is never the host binary's inode, lives
    /// on a read-only overlay (or is "/memfd:runcs (deleted)"), and cannot be written.
    /// </summary>
    [Test]
    public void Cve_2019_5736_InitExe_IsReadOnlyViewNotHostBinary()
    {
        using var b = new Bundle();
        b.Args("sleep", "30");
        var id = b.NewId();
        var hash = Sec.Sha256(Env.Runcs);
        var r = b.Create(id);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        var link = new FileInfo($"/proc/{pid}/exe").LinkTarget!;
        Assert.That(link, Does.Not.Contain(Env.Runcs));
        Assert.That(Stat($"/proc/{pid}/exe"), Is.Not.EqualTo(Stat(Env.Runcs)), "/proc/<init>/exe is the host binary");
        Assert.That(statfs($"/proc/{pid}/exe", out var fs), Is.EqualTo(0));
        const long OverlayMagic = 0x794c7630, TmpfsMagic = 0x01021994, ST_RDONLY = 1;
        if (link.StartsWith("/memfd:", StringComparison.Ordinal))
            Assert.That(fs.Type, Is.EqualTo(TmpfsMagic), "a memfd lives on the internal shmem mount");
        else
        {
            Assert.That(fs.Type, Is.EqualTo(OverlayMagic), $"init runs from {link}: neither a memfd nor an overlay");
            Assert.That(fs.Flags & ST_RDONLY, Is.EqualTo(ST_RDONLY), "the overlay must be mounted read-only");
            Assert.That(link, Is.EqualTo("/" + Path.GetFileName(Env.Runcs)), "the overlay is attached nowhere: its path is relative to its own root");
        }
        // Writing through the magic link: open for write may succeed on a memfd, but no byte may land.
        try
        {
            using var f = new FileStream($"/proc/{pid}/exe", FileMode.Open, FileAccess.Write);
            Assert.Throws<IOException>(() => { f.Write([0x7f, 0x45]); f.Flush(); }, "the init binary is writable");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* refused at open: fine */ }
        Assert.That(Sec.Sha256(Env.Runcs), Is.EqualTo(hash));
    }

    /// <summary>
    /// CVE-2019-5736, fallback path: where the read-only overlay cannot be built (here: the binary's
    /// directory has a ':' in its name, which overlayfs layer lists cannot carry), init runs from a
    /// sealed memfd copy; writing it fails and the binary it was copied from is untouched.
    /// </summary>
    [Test]
    public void Cve_2019_5736_MemfdFallback_IsSealedCopy()
    {
        using var b = new Bundle();
        b.Args("sleep", "30");
        var dir = Path.Combine(b.Dir, "odd:dir");
        Directory.CreateDirectory(dir);
        var exe = Path.Combine(dir, "runcs");
        File.Copy(Env.Runcs, exe);
        File.SetUnixFileMode(exe, (UnixFileMode)0x1ED);
        var hash = Sec.Sha256(exe);
        var id = b.NewId();
        b.SaveConfig();
        var r = Bundle.ExecToFiles(exe, ["--root", b.RuncsRoot, "create", "--bundle", b.Dir, id], Path.Combine(b.Dir, "fb.out"), Path.Combine(b.Dir, "fb.err"));
        try
        {
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            int pid = b.State(id)!["pid"]!.GetValue<int>();
            Assert.That(new FileInfo($"/proc/{pid}/exe").LinkTarget, Does.StartWith("/memfd:runcs"));
            Assert.That(Stat($"/proc/{pid}/exe"), Is.Not.EqualTo(Stat(exe)));
            try
            {
                using var f = new FileStream($"/proc/{pid}/exe", FileMode.Open, FileAccess.Write);
                Assert.Throws<IOException>(() => { f.Write([0x7f, 0x45]); f.Flush(); }, "the memfd is not write-sealed");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* refused at open: fine */ }
            Assert.That(Sec.Sha256(exe), Is.EqualTo(hash));
        }
        finally
        {
            Assert.That(b.Runcs("delete", "--force", id).ExitCode, Is.EqualTo(0));
        }
    }

    /// <summary>
    /// CVE-2019-5736 (the actual attack): a hostile process inside a running container scans every
    /// /proc/&lt;pid&gt;/exe it can see while the runtime repeatedly `exec`s into the container, keeps an O_PATH fd
    /// of every foreign executable and tries to open it for writing, at once and after the runtime has gone.
    /// Proves: no runcs process visible in the container ever exposes the host binary (a private copy
    /// of bin/runcs is used as the victim), nothing is writable, and the host binary's hash is unchanged.
    /// </summary>
    [Test]
    public void Cve_2019_5736_HostileContainer_CannotReachHostBinaryDuringExec()
    {
        using var b = new Bundle(copyRootfs: true);
        Sec.InstallHostile(b);
        var victim = Path.Combine(b.Dir, "runcs-victim");
        File.Copy(Env.Runcs, victim);
        File.SetUnixFileMode(victim, (UnixFileMode)0x1ED);
        var hash = Sec.Sha256(victim);
        var victimIno = Stat(victim);
        b.Args("sleep", "60");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        var hunt = b.Runcs("exec", "-d", id, "/hostile", "hunt", "6", "/report");
        Assert.That(hunt.ExitCode, Is.EqualTo(0), hunt.ToString());
        int execs = 0;
        var end = Environment.TickCount64 + 5000;
        while (Environment.TickCount64 < end)
        {
            var r = Run.Exec(victim, ["--root", b.RuncsRoot, "exec", id, "true"]);
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            execs++;
        }
        var report = Path.Combine(b.RootfsPath, "report");
        Assert.That(Sec.Eventually(() => File.Exists(report) && File.ReadAllText(report).Contains("DONE"), 10_000), "the hunter did not finish");
        var text = File.ReadAllText(report);
        TestContext.Out.WriteLine($"{execs} execs; hunter report:\n{text}");
        Assert.That(text, Does.Not.Contain("WRITABLE"), "a foreign executable was writable from the container");
        Assert.That(text, Does.Not.Contain($" {victimIno} "), "the host runtime binary was reachable through /proc/<pid>/exe");
        Assert.That(Sec.Sha256(victim), Is.EqualTo(hash), "the host runtime binary changed");
    }

    /// <summary>CVE-2019-5736: the exe of an `exec`'d process is the container's program, never a runcs binary.</summary>
    [Test]
    public void Cve_2019_5736_ExecdProcessExe_IsContainerBinary()
    {
        using var b = new Bundle();
        b.Args("sleep", "30");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        var r = b.Runcs("exec", id, "sh", "-c", "readlink /proc/self/exe; readlink /proc/$$/exe; readlink /proc/1/exe");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Assert.That(line, Is.EqualTo("/bin/busybox"), r.Stdout);
    }

    // ------------------------------------------------------------------ CVE-2024-21626

    /// <summary>
    /// CVE-2024-21626: process.cwd = /proc/self/fd/N where N is an fd the runtime leaked (runc leaked a
    /// host cgroup directory fd), so the process starts with a cwd on the host and reaches host files
    /// with "../..". The test also leaks a host directory fd (7 → "/") from the caller into runcs.
    /// Proves: for every N in 3..12 create either fails cleanly or the process cannot read a host file
    /// through its cwd.
    /// </summary>
    [Test]
    public void Cve_2024_21626_ProcessCwdProcSelfFd_NoHostAccess()
    {
        using var b = new Bundle();
        var marker = Sec.Marker(b);
        var secret = File.ReadAllText(marker);
        var up = string.Concat(Enumerable.Repeat("../", 12)) + marker.TrimStart('/');
        for (int n = 3; n <= 12; n++)
        {
            b.Process["cwd"] = $"/proc/self/fd/{n}";
            b.Sh($"cat {up} 2>/dev/null; cat {marker.TrimStart('/')} 2>/dev/null; pwd");
            var r = b.Tool("runcs", ["run", "--bundle", b.Dir, b.NewId()], shellPrefix: "exec 7</ 8</tmp; ");
            Assert.That(r.Stdout, Does.Not.Contain(secret), $"cwd /proc/self/fd/{n} reached a host file");
            if (r.ExitCode != 0) Sec.CleanFailure(r, $"cwd /proc/self/fd/{n}: ");
        }
    }

    /// <summary>
    /// CVE-2024-21626 (exec): `runc exec --cwd /proc/self/fd/N` into a running container used the same leaked
    /// fd. The caller leaks fds 7 ("/") and 8 (/tmp) into runcs exec. Proves: the exec'd process never gets a
    /// cwd outside the container's root (cannot read a host file through it).
    /// </summary>
    [Test]
    public void Cve_2024_21626_ExecCwdProcSelfFd_NoHostAccess()
    {
        using var b = new Bundle();
        var marker = Sec.Marker(b);
        var secret = File.ReadAllText(marker);
        var up = string.Concat(Enumerable.Repeat("../", 12)) + marker.TrimStart('/');
        b.Args("sleep", "60");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        var escapes = new List<string>();
        for (int n = 3; n <= 12; n++)
        {
            var r = b.Tool("runcs", ["exec", "--cwd", $"/proc/self/fd/{n}", id, "sh", "-c", $"cat {up} 2>/dev/null; cat {marker.TrimStart('/')} 2>/dev/null; pwd"],
                shellPrefix: "exec 7</ 8</tmp; ");
            if (r.Stdout.Contains(secret)) escapes.Add($"--cwd /proc/self/fd/{n}: {r.Stdout.Trim()}");
            else if (r.ExitCode != 0 && r.ExitCode != 1) Assert.Fail($"exec --cwd /proc/self/fd/{n} crashed: {r}");
        }
        Assert.That(escapes, Is.Empty, "exec'd processes started with a host cwd");
    }

    /// <summary>
    /// CVE-2024-21626 (fd leak): fds the runtime (or its caller) holds must not reach the container's
    /// processes. The caller leaks fd 7 (a host directory) into runcs. Proves: an exec'd process and
    /// the container's pid 1 have exactly fds 0-2.
    /// </summary>
    [Test]
    public void Cve_2024_21626_NoLeakedFds_InInitOrExec()
    {
        using var b = new Bundle();
        b.Args("sleep", "60");
        var id = b.NewId();
        var c = b.Tool("runcs", ["create", "--bundle", b.Dir, id], shellPrefix: "exec 7</ 9</tmp; ");
        Assert.That(c.ExitCode, Is.EqualTo(0), c.ToString());
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        int pid = b.State(id)!["pid"]!.GetValue<int>();
        Assert.That(Sec.Eventually(() => new FileInfo($"/proc/{pid}/exe").LinkTarget?.EndsWith("busybox") == true), "pid 1 did not exec");
        var initFds = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Select(Path.GetFileName).OrderBy(x => x).ToArray();
        Assert.That(initFds, Is.EqualTo(new[] { "0", "1", "2" }), "container pid 1 holds extra fds: " + string.Join(' ', initFds.Select(f => f + "->" + new FileInfo($"/proc/{pid}/fd/{f}").LinkTarget)));
        var r = b.Tool("runcs", ["exec", id, "sh", "-c", "ls /proc/$$/fd; ls -l /proc/$$/fd >&2"], shellPrefix: "exec 7</ 9</tmp; ");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "0", "1", "2" }), "exec'd process fds: " + r.Stderr);
    }

    // ------------------------------------------------------------------ CVE-2019-16884 / CVE-2019-19921 / CVE-2025-52881

    /// <summary>
    /// CVE-2019-16884 / CVE-2019-19921: a config (or image volume) mounts a tmpfs or bind over
    /// /proc/self/attr so the runtime's LSM label write lands in a file instead of procfs and the
    /// container runs unconfined. There is no LSM on this host: runcs must refuse to apply a label
    /// clearly (never pretend) and must not write anything through the fake /proc/&lt;pid&gt;/attr.
    /// </summary>
    [Test]
    public void Cve_2019_16884_LabelWriteThroughFakeProcAttr_Refused()
    {
        using var b = new Bundle();
        b.AddMount("/proc/1/attr", "tmpfs", "tmpfs", "nosuid");
        b.Sh("ls -A /proc/1/attr; echo end");
        var before = Sec.HostMounts();
        // Without a label: runs; nothing was written into the fake attr directory.
        var ok = b.RunContainer();
        if (ok.ExitCode == 0)
            Assert.That(ok.Stdout.Trim(), Is.EqualTo("end"), "runcs wrote into a tmpfs mounted over /proc/1/attr: " + ok.Stdout);
        else Sec.CleanFailure(ok);
        // With labels: refused with a clear message (no LSM here).
        b.Process["apparmorProfile"] = "runcs-sec-test-profile";
        var r = b.RunContainer();
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("pparmor").IgnoreCase, r.ToString());
        b.Process.Remove("apparmorProfile");
        b.Process["selinuxLabel"] = "system_u:system_r:container_t:s0";
        r = b.RunContainer();
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("selinux").IgnoreCase, r.ToString());
        Assert.That(Sec.HostMounts().Except(before), Is.Empty, "mounts leaked to the host");
    }

    /// <summary>CVE-2019-19921 (exec side): `exec --apparmor` / `--process-label` must be refused clearly without an LSM.</summary>
    [Test]
    public void Cve_2019_19921_ExecLabels_RefusedWithoutLsm()
    {
        using var b = new Bundle();
        b.Args("sleep", "30");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        var r = b.Runcs("exec", "--apparmor", "p", id, "true");
        Sec.CleanFailure(r);
        r = b.Runcs("exec", "--process-label", "system_u:system_r:container_t:s0", id, "true");
        Sec.CleanFailure(r);
    }

    /// <summary>
    /// CVE-2025-52881: runtime writes to /proc files (LSM labels, sysctls) are redirected by a mount over
    /// /proc/sys (here: a bind of a host file onto /proc/sys/net/ipv4/ip_forward, and a tmpfs over
    /// /proc/sys/net) so the write lands in an attacker-chosen file. Proves: runcs writes the sysctl only to
    /// the real procfs file (checked with fstatfs) and otherwise fails clearly; the host file is untouched.
    /// </summary>
    [Test]
    public void Cve_2025_52881_SysctlWriteRedirectedByBindOverProcSys_Refused()
    {
        using var b = new Bundle();
        var victim = Path.Combine(b.Dir, "victim-file");
        File.WriteAllText(victim, "ORIGINAL");
        b.AddNamespace("network");
        b.Linux["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1" };
        b.AddMount("/proc/sys/net/ipv4/ip_forward", "bind", victim, "bind");
        b.Args("true");
        var r = b.RunContainer();
        Assert.That(File.ReadAllText(victim), Is.EqualTo("ORIGINAL"), "the sysctl write went through the bind mount into a host file");
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("sysctl"), r.ToString());
    }

    /// <summary>CVE-2025-52881 (tmpfs variant): a tmpfs over /proc/sys/net swallows the sysctl write: refused clearly.</summary>
    [Test]
    public void Cve_2025_52881_SysctlWriteIntoTmpfsOverProcSys_Refused()
    {
        using var b = new Bundle();
        b.AddNamespace("network");
        b.Linux["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1" };
        b.AddMount("/proc/sys/net", "tmpfs", "tmpfs");
        b.Sh("ls -A /proc/sys/net");
        var r = b.RunContainer();
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("sysctl"), r.ToString());
    }

    /// <summary>CVE-2025-52881 (control): a normal sysctl still goes to procfs and takes effect.</summary>
    [Test]
    public void Cve_2025_52881_Control_SysctlOnRealProcfsWorks()
    {
        using var b = new Bundle();
        b.AddNamespace("network");
        b.Linux["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1" };
        b.Process["oomScoreAdj"] = 123;
        b.Sh("cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj");
        var r = b.RunContainer();
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "1", "123" }));
    }

    // ------------------------------------------------------------------ CVE-2021-30465

    /// <summary>
    /// CVE-2021-30465: two containers share a volume; the attacker container keeps swapping a
    /// directory at a mount destination of the victim container with a symlink to "/", so the runtime
    /// resolves the destination once and mounts through the swapped symlink onto a path outside the rootfs.
    /// Proves: over 15 victim starts racing the swapper, the host mount table never changes, no host
    /// directory is covered, and each victim either starts with its tmpfs inside its own root or fails cleanly.
    /// </summary>
    [Test]
    public void Cve_2021_30465_SymlinkExchangeRaceOnMountDestination_HostNeverGetsMount()
    {
        using var a = new Bundle(copyRootfs: true);
        var vol = a.Path_("volume", mkdir: true);
        File.SetUnixFileMode(vol, (UnixFileMode)0x1FF);
        a.AddMount("/vol", "bind", vol, "rbind");
        a.Sh("cd /vol; while :; do mkdir d 2>/dev/null; mv -T d x 2>/dev/null; rm -rf x; ln -sfn / x; rm -f x; done");
        var attacker = a.NewId();
        Assert.That(a.Create(attacker).ExitCode, Is.EqualTo(0));
        Assert.That(a.Runcs("start", attacker).ExitCode, Is.EqualTo(0));
        var canary = Path.Combine("/", "runcs-sec-canary-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(canary, "x");
        a.OnCleanup(() => File.Delete(canary));
        var before = Sec.HostMounts();
        using var v = new Bundle(copyRootfs: true);
        v.AddMount("/vol", "bind", vol, "rbind");
        v.AddMount("/vol/x", "tmpfs", "tmpfs", "size=1m");
        v.Sh("grep ' tmpfs ' /proc/self/mountinfo | grep -c 'size=1024k' ; cat /proc/self/mountinfo");
        int started = 0;
        for (int i = 0; i < 15; i++)
        {
            var r = v.RunContainer();
            if (r.ExitCode == 0) started++;
            else Sec.CleanFailure(r, $"victim {i}: ");
            Assert.That(File.Exists(canary), "a host directory was covered");
            Assert.That(Sec.HostMounts().Except(before), Is.Empty, $"victim {i}: a mount reached the host");
        }
        TestContext.Out.WriteLine($"{started}/15 victims started");
    }

    // ------------------------------------------------------------------ CVE-2023-27561 / CVE-2023-28642

    /// <summary>
    /// CVE-2023-27561 / CVE-2023-28642: an image where /proc is a symlink (to "/" here, or to a host-looking path)
    /// makes the runtime mount procfs elsewhere (and skip the masking of /proc paths). Proves: create fails with
    /// a clear message naming the symlink and leaves nothing behind.
    /// </summary>
    [TestCase("/")]
    [TestCase("/runcs-sec-evil-proc")]
    [TestCase("../../../../../..")]
    public void Cve_2023_27561_ProcIsSymlink_RefusedClearly(string target)
    {
        using var b = new Bundle(copyRootfs: true);
        var proc = Path.Combine(b.RootfsPath, "proc");
        Directory.Delete(proc);
        File.CreateSymbolicLink(proc, target);
        b.Args("true");
        var before = LcAssertSnapshot(b);
        var hostMounts = Sec.HostMounts();
        var r = b.Create(b.NewId());
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("symlink"), r.ToString());
        Assert.That(Sec.HostMounts().Except(hostMounts), Is.Empty);
        Assert.That(Directory.GetFileSystemEntries(b.RuncsRoot), Is.Empty, "state left behind");
        Assert.That(Directory.Exists("/runcs-sec-evil-proc"), Is.False, "a host directory was created");
        _ = before;
    }

    /// <summary>CVE-2023-28642 (sysfs variant): /sys a symlink in the image: refused clearly.</summary>
    [Test]
    public void Cve_2023_28642_SysIsSymlink_RefusedClearly()
    {
        using var b = new Bundle(copyRootfs: true);
        var sys = Path.Combine(b.RootfsPath, "sys");
        Directory.Delete(sys);
        File.CreateSymbolicLink(sys, "/proc");
        b.Args("true");
        var r = b.Create(b.NewId());
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("symlink"), r.ToString());
    }

    // ------------------------------------------------------------------ CVE-2022-29162

    /// <summary>
    /// CVE-2022-29162: runc set non-empty inheritable capabilities, so a non-root process exec'ing a
    /// file with inheritable file capabilities gained them. Proves: CapInh is empty by default (spec
    /// default and real-world configs), equals the config exactly when set, CapAmb is empty, a non-root
    /// process has no effective capabilities, and `exec` (with or without --cap) never adds inheritable ones.
    /// </summary>
    [Test]
    public void Cve_2022_29162_InheritableCapabilities_ExactAndEmptyByDefault()
    {
        using var b = new Bundle();
        b.Sh("grep -E '^Cap(Inh|Amb|Eff)' /proc/self/status");
        var st = Caps(b.RunContainer());
        Assert.That(st["CapInh"], Is.EqualTo(0UL), "default inheritable set is not empty");
        Assert.That(st["CapAmb"], Is.EqualTo(0UL));

        // capset(2) only allows inheritable capabilities that are in the bounding set.
        b.Process["capabilities"]!["bounding"]!.AsArray().Add("CAP_NET_RAW");
        b.Process["capabilities"]!["inheritable"] = Sec.Arr("CAP_NET_RAW");
        st = Caps(b.RunContainer());
        Assert.That(st["CapInh"], Is.EqualTo(1UL << 13), "inheritable must be exactly the config's (CAP_NET_RAW)");

        b.Process["capabilities"]!.AsObject().Remove("inheritable");
        b.Process["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
        st = Caps(b.RunContainer());
        Assert.That(st["CapEff"], Is.EqualTo(0UL), "a non-root process kept effective capabilities");
        Assert.That(st["CapInh"], Is.EqualTo(0UL));

        b.Process["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 };
        b.Args("sleep", "30");
        var id = b.NewId();
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        foreach (var extra in new[] { Array.Empty<string>(), new[] { "--cap", "CAP_SYS_ADMIN" } })
        {
            var r = b.Runcs(["exec", .. extra, id, "sh", "-c", "grep -E '^Cap(Inh|Amb|Eff)' /proc/self/status"]);
            var ex = Caps(r);
            Assert.That(ex["CapInh"], Is.EqualTo(0UL), $"exec {string.Join(' ', extra)} added inheritable capabilities");
        }
    }

    // ------------------------------------------------------------------ CVE-2024-45310

    /// <summary>
    /// CVE-2024-45310: a volume is shared by two containers; the attacker replaces a directory on the
    /// volume with a symlink to a host path; the victim's create then makes its missing bind-mount
    /// destination (an empty file, or directory) through the symlink, on the host. Proves: with the
    /// symlink pointing at an existing host directory, nothing is created there (for file and directory
    /// destinations); the destination is created inside the victim's rootfs or create fails cleanly.
    /// </summary>
    [Test]
    public void Cve_2024_45310_SharedVolumeSymlink_CreatesNothingOnHost()
    {
        using var a = new Bundle(copyRootfs: true);
        var vol = a.Path_("volume", mkdir: true);
        File.SetUnixFileMode(vol, (UnixFileMode)0x1FF);
        var hostDir = Path.Combine("/tmp", "runcs-sec-45310-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(hostDir);
        a.OnCleanup(() => Directory.Delete(hostDir, true));
        a.AddMount("/vol", "bind", vol, "rbind");
        a.Sh($"mkdir -p /vol/sub; rm -rf /vol/sub; ln -s {hostDir} /vol/sub");
        var ar = a.RunContainer();
        Assert.That(ar.ExitCode, Is.EqualTo(0), ar.ToString());
        Assert.That(new FileInfo(Path.Combine(vol, "sub")).LinkTarget, Is.EqualTo(hostDir), "the attacker's symlink is in place");

        using var v = new Bundle(copyRootfs: true);
        var srcFile = v.Path_("src-file");
        File.WriteAllText(srcFile, "data");
        var srcDir = v.Path_("src-dir", mkdir: true);
        v.AddMount("/vol", "bind", vol, "rbind");
        v.AddMount("/vol/sub/newfile", "bind", srcFile, "bind");
        v.AddMount("/vol/sub/newdir/deeper", "bind", srcDir, "rbind");
        v.Sh("cat /vol/sub/newfile; ls -d /vol/sub/newdir/deeper");
        var r = v.RunContainer();
        Assert.That(Directory.GetFileSystemEntries(hostDir), Is.Empty, "the victim's create made files on the host through the shared volume");
        if (r.ExitCode != 0) Sec.CleanFailure(r);
        else Assert.That(r.Stdout, Does.Contain("data"));
    }

    // ------------------------------------------------------------------ CVE-2025-31133 / CVE-2025-52565 / CVE-2026-41579

    /// <summary>
    /// CVE-2025-31133: maskedPaths are masked by bind-mounting /dev/null; an image whose /dev/null is a
    /// symlink to /proc/sys/kernel/core_pattern (and a config without a /dev tmpfs, so the image's /dev is used)
    /// makes the runtime bind that writable procfs file over the masked paths. Proves: runcs refuses the
    /// /dev/null that is not the 1:3 character device, create fails clearly, and the host's core_pattern is unchanged.
    /// </summary>
    [TestCase("/proc/sys/kernel/core_pattern")]
    [TestCase("/proc/sysrq-trigger")]
    public void Cve_2025_31133_DevNullSymlink_MaskingRefused(string target)
    {
        using var b = new Bundle(copyRootfs: true);
        var core = File.ReadAllText("/proc/sys/kernel/core_pattern");
        Sec.RemoveMount(b, "/dev");
        Sec.RemoveMount(b, "/dev/pts");
        Sec.RemoveMount(b, "/dev/shm");
        Sec.RemoveMount(b, "/dev/mqueue");
        var devNull = Path.Combine(b.RootfsPath, "dev", "null");
        if (File.Exists(devNull)) File.Delete(devNull);
        File.CreateSymbolicLink(devNull, target);
        b.Sh("cat /proc/kcore 2>&1 | head -c 10; echo; ls -l /proc/kcore /dev/null");
        var r = b.RunContainer();
        Assert.That(File.ReadAllText("/proc/sys/kernel/core_pattern"), Is.EqualTo(core));
        Sec.CleanFailure(r);
        Assert.That(r.Stderr, Does.Contain("/dev/null"), r.ToString());
    }

    /// <summary>
    /// CVE-2025-52565: the console is bind-mounted onto /dev/console by path; an image (without a /dev tmpfs)
    /// where /dev/console is a symlink to a procfs file redirects the mount there before maskedPaths/readonly
    /// apply. Proves: with process.terminal and a console socket, runcs refuses a symlinked /dev/console (or
    /// keeps the mount inside /dev) — nothing is mounted over /proc/sysrq-trigger or /proc/sys/kernel/core_pattern.
    /// </summary>
    [TestCase("/proc/sys/kernel/core_pattern")]
    [TestCase("/proc/sysrq-trigger")]
    public void Cve_2025_52565_DevConsoleSymlink_NotFollowed(string target)
    {
        using var b = new Bundle(copyRootfs: true);
        Sec.RemoveMount(b, "/dev");
        Sec.RemoveMount(b, "/dev/pts");
        b.AddMount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620");
        var dev = Path.Combine(b.RootfsPath, "dev");
        Directory.CreateDirectory(dev);
        // Real null/ptmx nodes so the terminal can work.
        Run.Exec("mknod", ["-m", "666", Path.Combine(dev, "null"), "c", "1", "3"]);
        File.CreateSymbolicLink(Path.Combine(dev, "ptmx"), "pts/ptmx");
        File.CreateSymbolicLink(Path.Combine(dev, "console"), target);
        b.Process["terminal"] = true;
        b.Sh($"grep -E ' {target} ' /proc/self/mountinfo; echo mounts-checked");
        var sock = Path.Combine(b.Dir, "console.sock");
        var outFile = Path.Combine(b.Dir, "console.out");
        var recv = System.Diagnostics.Process.Start(Sec.Hostile, ["recvtty", sock, outFile]);
        b.OnCleanup(() => { try { recv.Kill(); } catch (Exception) { } });
        Assert.That(Sec.Eventually(() => File.Exists(sock)), "console socket receiver did not start");
        var id = b.NewId();
        var r = b.Runcs("run", "--console-socket", sock, "--bundle", b.Dir, id);
        recv.WaitForExit(5000);
        var console = File.Exists(outFile) ? File.ReadAllText(outFile) : "";
        TestContext.Out.WriteLine($"{r}\nconsole: {console}");
        if (r.ExitCode == 0)
        {
            Assert.That(console, Does.Contain("mounts-checked"), "the container's output did not reach the console");
            Assert.That(console, Does.Not.Contain(" " + target + " "), $"the console pty was mounted over {target}");
        }
        else Sec.CleanFailure(r);
    }

    /// <summary>
    /// CVE-2026-41579: the image's /dev itself is a symlink to a host-looking path, so the /dev tmpfs,
    /// device nodes and /dev symlinks are created outside the container's /dev — on the host when followed
    /// before pivot_root. Proves: with /dev → /runcs-sec-hostdev-X (an existing host directory) nothing is created
    /// in the host directory, and create either succeeds with devices inside the container or fails cleanly.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void Cve_2026_41579_DevIsSymlink_NothingOnHost(bool devTmpfs)
    {
        using var b = new Bundle(copyRootfs: true);
        var hostDev = Path.Combine("/tmp", "runcs-sec-hostdev-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(hostDev);
        b.OnCleanup(() => Directory.Delete(hostDev, true));
        var dev = Path.Combine(b.RootfsPath, "dev");
        Directory.Delete(dev, true);
        File.CreateSymbolicLink(dev, hostDev);
        if (!devTmpfs)
        {
            foreach (var d in new[] { "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue" }) Sec.RemoveMount(b, d);
            b.Linux["devices"] = new JsonArray(new JsonObject { ["path"] = "/dev/runcs-sec-dev", ["type"] = "c", ["major"] = 1, ["minor"] = 3 });
            b.Linux.Remove("maskedPaths");
        }
        b.Sh("ls /dev >/dev/null; echo ok");
        var before = Sec.HostMounts();
        var r = b.RunContainer();
        Assert.That(Directory.GetFileSystemEntries(hostDev), Is.Empty, "device nodes or links were created in a host directory");
        Assert.That(Sec.HostMounts().Except(before), Is.Empty, "a mount reached the host");
        if (r.ExitCode != 0) Sec.CleanFailure(r);
    }

    // ------------------------------------------------------------------ helpers

    private static Dictionary<string, ulong> Caps(Result r)
    {
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var d = new Dictionary<string, ulong>();
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 2);
            d[parts[0].Trim()] = Convert.ToUInt64(parts[1].Trim(), 16);
        }
        return d;
    }

    private static object LcAssertSnapshot(Bundle b) => Lifecycle.LcAssert.Take(b);

    [DllImport("libc", SetLastError = true)] private static extern int stat(string path, out StatBuf buf);
    [DllImport("libc", SetLastError = true)] private static extern int statfs(string path, out StatFsBuf buf);

    [StructLayout(LayoutKind.Sequential)]
    private struct StatFsBuf
    {
        public long Type, Bsize;
        public ulong Blocks, Bfree, Bavail, Files, Ffree;
        public long Fsid, Namelen, Frsize, Flags;
        public long S0, S1, S2, S3;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct StatBuf
    {
        public ulong Dev, Ino, Nlink;
        public uint Mode, Uid, Gid, Pad0;
        public ulong Rdev;
        public long Size, Blksize, Blocks;
        public long Atime, AtimeNs, Mtime, MtimeNs, Ctime, CtimeNs;
        public long R0, R1, R2;
    }

    /// <summary>"dev:ino" of a path (following links, e.g. /proc/pid/exe), as the hunter prints it.</summary>
    private static string Stat(string path)
    {
        Assert.That(stat(path, out var s), Is.EqualTo(0), "stat " + path);
        return $"{s.Dev}:{s.Ino}";
    }
}
