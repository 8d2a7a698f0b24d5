using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>
/// Issue #3 "Done when": the same bundle (a `runcs spec` config on a copied busybox rootfs) behaves
/// identically under runcs and runc (the reference, 1.1.5 here): same stdout and exit status for probes.
/// </summary>
[TestFixture, NonParallelizable]
public class RuncComparisonTests
{
    [OneTimeSetUp]
    public void NeedRunc()
    {
        if (Run.Exec("sh", ["-c", $"command -v {Bundle.RuncBinary}"]).ExitCode != 0) Assert.Ignore("runc is not installed");
    }

    [TestCase("id", "id")]
    [TestCase("hostname", "hostname")]
    [TestCase("caps", "grep -E '^(Cap|NoNewPrivs|Seccomp:|Sig(Blk|Ign))' /proc/self/status")]
    [TestCase("dev", "ls -l /dev | awk '{print $1, $3, $4, $5, $6, $NF}'; ls /dev/pts")]
    // /sys/fs/cgroup is left out on purpose: on this hybrid host runc 1.1.5 leaves out the cgroup2 "unified"
    // hierarchy and keeps the /sys/fs/cgroup tmpfs rw despite "ro"; runcs mounts unified and makes the tmpfs ro.
    [TestCase("mountpoints", "cut -d' ' -f5 /proc/self/mountinfo | grep -v '^/sys/fs/cgroup' | sort")]
    [TestCase("mountflags", "awk '{print $5, $6}' /proc/self/mountinfo | grep -v '^/sys/fs/cgroup' | sort")]
    [TestCase("ulimit", "ulimit -n; ulimit -Hn")]
    [TestCase("fds", "ls /proc/self/fd")]
    [TestCase("pid", "echo $$; readlink /proc/1/exe")]
    [TestCase("env", "env | sort")]
    [TestCase("cwd-umask", "pwd; umask")]
    [TestCase("net", "cat /proc/net/dev | tail -n +3 | cut -d: -f1")]
    [TestCase("masked", "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; touch /proc/sys/x 2>&1 | wc -l")]
    [TestCase("exit", "exit 42")]
    public void SameOutputAsRunc(string name, string script)
    {
        using var b = new Bundle(copyRootfs: true);
        b.Sh(script);
        var mine = b.RunContainer(null, "runcs");
        var theirs = b.RunContainer(null, "runc");
        Assert.That(theirs.Stderr, Is.Empty, "runc itself complained: " + theirs);
        Assert.That(Normalize(mine.Stdout), Is.EqualTo(Normalize(theirs.Stdout)), $"{name}: stdout differs\nrunc:\n{theirs.Stdout}\nruncs:\n{mine.Stdout}\nruncs stderr: {mine.Stderr}");
        Assert.That(mine.ExitCode, Is.EqualTo(theirs.ExitCode), $"{name}: exit status differs");
    }

    /// <summary>
    /// Known, deliberate difference: runcs resets every signal disposition before exec, runc (Go)
    /// cannot touch signals 32 and 33 (glibc's), so an ignored 32/33 of the caller leaks through
    /// runc only. Those two bits of SigIgn are not compared.
    /// </summary>
    private static string Normalize(string stdout) =>
        System.Text.RegularExpressions.Regex.Replace(stdout, @"(?m)^SigIgn:\t([0-9a-f]{16})$", m =>
            "SigIgn:\t" + (Convert.ToUInt64(m.Groups[1].Value, 16) & ~0x180000000UL).ToString("x16"));

    [Test]
    public void SameExitStatusWhenKilled()
    {
        using var b = new Bundle(copyRootfs: true);
        b.RemoveNamespace("pid");
        b.Sh("kill -USR1 $$");
        var mine = b.RunContainer(null, "runcs");
        var theirs = b.RunContainer(null, "runc");
        Assert.That(mine.ExitCode, Is.EqualTo(theirs.ExitCode).And.EqualTo(128 + 10));
    }
}
