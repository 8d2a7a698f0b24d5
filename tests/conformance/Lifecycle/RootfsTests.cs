using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>config.md "Root", "Mounts"; config-linux.md "Devices", "Default Devices", "Masked Paths",
/// "Readonly Paths", "Sysctl", "Rootfs Mount Propagation"; runc `--no-pivot`.</summary>
[TestFixture, NonParallelizable]
public class RootfsTests
{
    /// <summary>The /proc/self/mountinfo line (split) whose mount point is <paramref name="mp"/> (last one wins).</summary>
    private static (string[] Left, string[] Right) MountLine(string mountinfo, string mp)
    {
        (string[], string[])? found = null;
        foreach (var line in LcAssert.Lines(mountinfo))
        {
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            var left = line[..dash].Split(' ');
            if (left.Length > 4 && left[4] == mp) found = (left, line[(dash + 3)..].Split(' '));
        }
        Assert.That(found, Is.Not.Null, $"no mount at {mp} in:\n{mountinfo}");
        return found!.Value;
    }

    [Test]
    public void Config_Root_Readonly_TouchFails()
    {
        using var b = new Bundle();
        b.Sh("touch /x 2>&1; echo rc=$?; cat /proc/self/mountinfo");
        var o = LcAssert.RunOk(b);
        Assert.That(o, Does.Contain("Read-only file system").And.Contain("rc=1"));
        var root = MountLine(o, "/");
        Assert.That(root.Left[5].Split(','), Does.Contain("ro"));
    }

    [Test]
    public void Config_Root_Writable_WhenNotReadonly()
    {
        using var b = new Bundle(copyRootfs: true);
        b.Sh("touch /x && echo ok");
        Assert.That(LcAssert.RunOk(b), Is.EqualTo("ok\n"));
        Assert.That(File.Exists(Path.Combine(b.RootfsPath, "x")));
    }

    [Test]
    public void Config_Mounts_Tmpfs_WithOptions()
    {
        using var b = new Bundle();
        b.AddMount("/mnt", "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=700", "size=1m");
        b.Sh("cat /proc/self/mountinfo; stat -c 'mode=%a' /mnt");
        var o = LcAssert.RunOk(b);
        var (left, right) = MountLine(o, "/mnt");
        Assert.That(left[5].Split(','), Is.SupersetOf(new[] { "rw", "nosuid", "nodev", "noexec" }));
        Assert.That(right[0], Is.EqualTo("tmpfs"));
        Assert.That(right[2].Split(','), Does.Contain("size=1024k").And.Contain("mode=700"));
        Assert.That(o, Does.Contain("mode=700"));
    }

    [Test]
    public void Config_Mounts_Bind_ReadOnlyAndReadWrite()
    {
        using var b = new Bundle();
        var host = b.Path_("hostdir", mkdir: true);
        File.WriteAllText(Path.Combine(host, "hello"), "hi\n");
        b.AddMount("/mnt", "bind", host, "rbind", "ro");
        b.AddMount("/home", "bind", host, "rbind", "rw");
        b.Sh("cat /mnt/hello; touch /mnt/new 2>/dev/null && echo ro-writable; echo w > /home/written && echo rw-ok; cat /proc/self/mountinfo");
        var o = LcAssert.RunOk(b);
        Assert.That(o, Does.StartWith("hi\n"));
        Assert.That(o, Does.Not.Contain("ro-writable"));
        Assert.That(o, Does.Contain("rw-ok"));
        Assert.That(File.ReadAllText(Path.Combine(host, "written")), Is.EqualTo("w\n"));
        Assert.That(MountLine(o, "/mnt").Left[5].Split(','), Does.Contain("ro"));
        Assert.That(MountLine(o, "/home").Left[5].Split(','), Does.Contain("rw"));
    }

    [Test]
    public void Config_Mounts_Rbind_IncludesSubmounts_BindDoesNot()
    {
        using var b = new Bundle();
        var host = b.Path_("hostdir", mkdir: true);
        var sub = Path.Combine(host, "sub");
        Directory.CreateDirectory(sub);
        var m = Run.Exec("mount", ["-t", "tmpfs", "tmpfs", sub]);
        Assert.That(m.ExitCode, Is.EqualTo(0), m.ToString());
        File.WriteAllText(Path.Combine(sub, "inner"), "inner\n");
        b.AddMount("/mnt", "bind", host, "rbind");
        b.AddMount("/home", "bind", host, "bind");
        b.Sh("cat /mnt/sub/inner; ls /home/sub | wc -l");
        Assert.That(LcAssert.Lines(LcAssert.RunOk(b)), Is.EqualTo(new[] { "inner", "0" }));
    }

    [Test]
    public void Config_Mounts_FileBind_AndMissingMountpointsCreated()
    {
        // config.md "Mounts": the runtime creates missing destinations (a file for a file source, dirs otherwise).
        using var b = new Bundle(copyRootfs: true);
        var file = b.Path_("hostfile");
        File.WriteAllText(file, "file-content\n");
        b.AddMount("/new/dir/file.txt", "bind", file, "bind", "ro");
        b.AddMount("/deep/er/dir", "tmpfs", "tmpfs");
        b.Sh("cat /new/dir/file.txt; stat -c %F /new/dir/file.txt /deep/er/dir");
        Assert.That(LcAssert.Lines(LcAssert.RunOk(b)), Is.EqualTo(new[] { "file-content", "regular file", "directory" }));
        Assert.That(File.Exists(Path.Combine(b.RootfsPath, "new/dir/file.txt")));
        Assert.That(Directory.Exists(Path.Combine(b.RootfsPath, "deep/er/dir")));
    }

    [TestCase("rshared", "shared:")]
    [TestCase("rslave", "master:")]
    [TestCase("rprivate", null)]
    public void Config_Mounts_PropagationOptions(string option, string? tag)
    {
        using var b = new Bundle();
        var host = b.Path_("hostdir", mkdir: true);
        // Make the source a shared mount so slave/shared have a peer group to refer to.
        Assert.That(Run.Exec("mount", ["--bind", host, host]).ExitCode, Is.EqualTo(0));
        Assert.That(Run.Exec("mount", ["--make-shared", host]).ExitCode, Is.EqualTo(0));
        b.AddMount("/mnt", "bind", host, "rbind", option);
        b.Args("cat", "/proc/self/mountinfo");
        var (left, _) = MountLine(LcAssert.RunOk(b), "/mnt");
        var optional = string.Join(' ', left.Skip(6));
        if (tag is null) Assert.That(optional, Does.Not.Contain("shared:").And.Not.Contain("master:"));
        else Assert.That(optional, Does.Contain(tag));
    }

    [Test]
    public void Config_Mounts_DestinationSymlinkToEtc_LandsInsideRootfs()
    {
        // config.md "Mounts": destinations resolve inside the rootfs; an absolute symlink to /etc in the image
        // must not make the runtime mount over the host's /etc.
        using var b = new Bundle(copyRootfs: true);
        File.CreateSymbolicLink(Path.Combine(b.RootfsPath, "etclink"), "/etc");
        var probe = "runcs-lc-probe-" + Guid.NewGuid().ToString("N")[..8];
        var file = b.Path_("hostfile");
        File.WriteAllText(file, "probe\n");
        b.AddMount($"/etclink/{probe}", "bind", file, "bind");
        b.AddMount("/etclink/tmpfs-dir", "tmpfs", "tmpfs");
        b.Sh($"cat /etc/{probe}; grep -c ' /etc/tmpfs-dir ' /proc/self/mountinfo");
        var hostEtcBefore = Directory.GetFileSystemEntries("/etc").Length;
        var o = LcAssert.RunOk(b);
        Assert.That(LcAssert.Lines(o), Is.EqualTo(new[] { "probe", "1" }));
        Assert.That(File.Exists("/etc/" + probe), Is.False, "the mount went to the host's /etc");
        Assert.That(Directory.Exists("/etc/tmpfs-dir"), Is.False, "the mount went to the host's /etc");
        Assert.That(Directory.GetFileSystemEntries("/etc").Length, Is.EqualTo(hostEtcBefore));
        Assert.That(File.Exists(Path.Combine(b.RootfsPath, "etc", probe)));
    }

    [Test]
    public void Config_Mounts_ProcOnSymlink_Refused()
    {
        // CVE-2023-27561/28642: proc must not be mounted through a symlink.
        using var b = new Bundle(copyRootfs: true);
        Directory.Delete(Path.Combine(b.RootfsPath, "proc"));
        File.CreateSymbolicLink(Path.Combine(b.RootfsPath, "proc"), "/etc");
        b.Args("true");
        var before = LcAssert.Take(b);
        var r = b.Create(b.NewId());
        LcAssert.FailedCleanly(b, r, before, "/proc", "symlink");
    }

    [Test]
    public void ConfigLinux_DefaultDevices_MajorMinor_AndLinks()
    {
        // config-linux.md "Default Devices" and the /dev/ptmx, /dev/fd, stdin/stdout/stderr links.
        using var b = new Bundle();
        b.Sh("for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; " +
             "for l in ptmx fd stdin stdout stderr; do echo /dev/$l=$(readlink /dev/$l); done; ls /dev/pts/ptmx");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        var expected = new Dictionary<string, string> { ["null"] = "1:3", ["zero"] = "1:5", ["full"] = "1:7", ["random"] = "1:8", ["urandom"] = "1:9", ["tty"] = "5:0" };
        foreach (var (dev, mm) in expected)
        {
            var l = lines.FirstOrDefault(x => x.StartsWith($"/dev/{dev} ", StringComparison.Ordinal));
            Assert.That(l, Is.Not.Null, string.Join("\n", lines));
            Assert.That(l, Is.EqualTo($"/dev/{dev} character special file {mm} 666"));
        }
        Assert.That(lines, Does.Contain("/dev/ptmx=pts/ptmx"));
        Assert.That(lines, Does.Contain("/dev/fd=/proc/self/fd"));
        Assert.That(lines, Does.Contain("/dev/stdin=/proc/self/fd/0"));
        Assert.That(lines, Does.Contain("/dev/stdout=/proc/self/fd/1"));
        Assert.That(lines, Does.Contain("/dev/stderr=/proc/self/fd/2"));
        Assert.That(lines, Does.Contain("/dev/pts/ptmx"));
    }

    [Test]
    public void ConfigLinux_Devices_Fuse_ModeOwnerMajorMinor()
    {
        using var b = new Bundle();
        b.Linux["devices"] = new JsonArray(new JsonObject
        {
            ["path"] = "/dev/fuse", ["type"] = "c", ["major"] = 10, ["minor"] = 229, ["fileMode"] = 416 /* 0640 */, ["uid"] = 1000, ["gid"] = 1001,
        });
        b.Args("stat", "-c", "%F %t:%T %a %u %g", "/dev/fuse");
        Assert.That(LcAssert.RunOk(b).Trim(), Is.EqualTo("character special file a:e5 640 1000 1001"));
    }

    [Test]
    public void ConfigLinux_MaskedPaths_FileAndDirectoryReadEmpty()
    {
        using var b = new Bundle(copyRootfs: true);
        Directory.CreateDirectory(Path.Combine(b.RootfsPath, "secretdir"));
        File.WriteAllText(Path.Combine(b.RootfsPath, "secretdir", "key"), "k\n");
        File.WriteAllText(Path.Combine(b.RootfsPath, "secretfile"), "secret\n");
        var masked = b.Linux["maskedPaths"]!.AsArray();
        masked.Add("/secretdir");
        masked.Add("/secretfile");
        b.Sh("echo f=$(cat /secretfile | wc -c); echo d=$(ls -A /secretdir | wc -l); echo timer_list=$(head -c 10 /proc/timer_list | wc -c); " +
             "echo fw=$(ls -A /sys/firmware | wc -l); touch /secretdir/x 2>/dev/null && echo dir-writable; echo done");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines, Is.EqualTo(new[] { "f=0", "d=0", "timer_list=0", "fw=0", "done" }));
    }

    [Test]
    public void ConfigLinux_ReadonlyPaths_NotWritable()
    {
        using var b = new Bundle(copyRootfs: true);
        b.Linux["readonlyPaths"]!.AsArray().Add("/tmp");
        b.Sh("touch /tmp/x 2>/dev/null && echo tmp-writable; echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable; touch /ok && echo root-ok; grep ' /tmp ' /proc/self/mountinfo");
        var o = LcAssert.RunOk(b);
        Assert.That(o, Does.Not.Contain("tmp-writable").And.Not.Contain("sys-writable").And.Contain("root-ok"));
        Assert.That(MountLine(o, "/tmp").Left[5].Split(','), Does.Contain("ro"));
    }

    [Test]
    public void ConfigLinux_Sysctl_NetAndIpc()
    {
        // config-linux.md "Sysctl": net.* in a new network namespace, kernel.shm* in a new ipc namespace.
        using var b = new Bundle();
        b.Linux["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1", ["kernel.shm_rmid_forced"] = "1" };
        b.Sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced");
        var r = b.RunContainer();
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(LcAssert.Lines(r.Stdout), Is.EqualTo(new[] { "1", "1" }));
        Assert.That(File.ReadAllText("/proc/sys/kernel/shm_rmid_forced").Trim(), Is.EqualTo("0").Or.EqualTo(File.ReadAllText("/proc/sys/kernel/shm_rmid_forced").Trim()));
    }

    [Test]
    public void Runc_NoPivot_Runs()
    {
        using var b = new Bundle();
        b.Sh("echo $$; ls /bin/busybox; cut -d' ' -f5 /proc/self/mountinfo | grep -c '^/$'");
        var r = b.RunContainer(null, "runcs", "--no-pivot");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(LcAssert.Lines(r.Stdout), Is.EqualTo(new[] { "1", "/bin/busybox", "1" }));
    }

    [TestCase("shared", "shared:")]
    [TestCase("slave", null)] // no master: tag here: the host's / is not shared on this machine (runc shows the same)
    [TestCase("private", null)]
    public void ConfigLinux_RootfsPropagation(string prop, string? tag)
    {
        using var b = new Bundle();
        b.Linux["rootfsPropagation"] = prop;
        b.Args("cat", "/proc/self/mountinfo");
        var (left, _) = MountLine(LcAssert.RunOk(b), "/");
        var optional = string.Join(' ', left.Skip(6));
        if (tag is null) Assert.That(optional, Does.Not.Contain("shared:"));
        else Assert.That(optional, Does.Contain(tag));
    }
}
