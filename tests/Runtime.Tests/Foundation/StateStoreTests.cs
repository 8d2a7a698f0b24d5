using NUnit.Framework;
using Runcs.Linux;
using Runcs.State;

namespace Runcs.Tests.Foundation;

/// <summary>The state directory (DESIGN.md "State"), on a temp --root; no root privileges needed.</summary>
[TestFixture]
public class StateStoreTests : TempDirTest
{
    private StateStore Store => new(Path.Combine(Tmp, "root"));

    [TestCase("a")]
    [TestCase("abc-DEF_123")]
    [TestCase("x.y+z")]
    [TestCase("...")]
    [TestCase(".hidden")]
    [TestCase("a..b")]
    public void ValidId_IsAccepted(string id) => Assert.DoesNotThrow(() => StateStore.ValidateId(id));

    [TestCase("", "cannot be empty")]
    [TestCase(".", "invalid container id")]
    [TestCase("..", "invalid container id")]
    [TestCase("a/b", "invalid container id")]
    [TestCase("../x", "invalid container id")]
    [TestCase("a b", "invalid container id")]
    [TestCase("a:b", "invalid container id")]
    [TestCase("é", "invalid container id")]
    [TestCase("a\nb", "invalid container id")]
    public void InvalidId_IsRejected(string id, string message)
    {
        var e = Assert.Throws<RuncsException>(() => StateStore.ValidateId(id));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void Dir_ValidatesTheId() => Assert.Throws<RuncsException>(() => Store.Dir(".."));

    [Test]
    public void ClaimDir_CreatesRootAndDir_SecondClaimSaysExists()
    {
        var s = Store;
        var dir = s.ClaimDir("c1");
        Assert.That(Directory.Exists(dir), Is.True);
        Assert.That(dir, Is.EqualTo(Path.Combine(s.Root, "c1")));
        var e = Assert.Throws<RuncsException>(() => s.ClaimDir("c1"));
        Assert.That(e!.Message, Is.EqualTo("container with id exists: c1"));
    }

    [Test]
    public void ClaimDir_IsPrivateToOwner()
    {
        var dir = Store.ClaimDir("c1");
        var mode = File.GetUnixFileMode(dir);
        Assert.That(mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead), Is.EqualTo((UnixFileMode)0));
    }

    private static StoredState Sample(string id) => new()
    {
        Id = id, Pid = 4242, PidStartTime = 123456789012UL, Bundle = "/b", Rootfs = "/b/rootfs",
        Created = "2025-01-02T03:04:05.123456789Z", Owner = "root",
        Annotations = new() { ["k"] = "v \"q\"" },
        CgroupPaths = new() { [""] = "/sys/fs/cgroup/x" },
        NamespacePaths = new() { ["network"] = "/proc/4242/ns/net" },
        Started = true,
    };

    [Test]
    public void SaveLoad_RoundTrips()
    {
        var s = Store;
        s.ClaimDir("c1");
        s.Save(Sample("c1"));
        var l = s.Load("c1");
        Assert.That(l.Id, Is.EqualTo("c1"));
        Assert.That(l.Pid, Is.EqualTo(4242));
        Assert.That(l.PidStartTime, Is.EqualTo(123456789012UL));
        Assert.That(l.Bundle, Is.EqualTo("/b"));
        Assert.That(l.Rootfs, Is.EqualTo("/b/rootfs"));
        Assert.That(l.Created, Is.EqualTo("2025-01-02T03:04:05.123456789Z"));
        Assert.That(l.Owner, Is.EqualTo("root"));
        Assert.That(l.Annotations, Is.EqualTo(new Dictionary<string, string> { ["k"] = "v \"q\"" }));
        Assert.That(l.CgroupPaths![""], Is.EqualTo("/sys/fs/cgroup/x"));
        Assert.That(l.NamespacePaths!["network"], Is.EqualTo("/proc/4242/ns/net"));
        Assert.That(l.Started, Is.True);
    }

    [Test]
    public void Save_ReplacesAtomically_LeavingNoTempFile()
    {
        var s = Store;
        var dir = s.ClaimDir("c1");
        s.Save(Sample("c1"));
        var ino1 = new FileInfo(Path.Combine(dir, StateStore.StateFile));
        var before = File.ReadAllText(ino1.FullName);
        var changed = Sample("c1");
        changed.Pid = 7;
        s.Save(changed);
        Assert.That(Directory.GetFileSystemEntries(dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { StateStore.StateFile }));
        Assert.That(s.Load("c1").Pid, Is.EqualTo(7));
        Assert.That(File.ReadAllText(ino1.FullName), Is.Not.EqualTo(before));
    }

    [Test]
    public void Save_WritesThroughRename_NotInPlace()
    {
        // A reader holding the old file open keeps seeing complete old content: the new content
        // arrives as a new inode (rename), never as a truncate-and-write of the old one.
        var s = Store;
        var dir = s.ClaimDir("c1");
        s.Save(Sample("c1"));
        var path = Path.Combine(dir, StateStore.StateFile);
        using var held = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var old = new StreamReader(held).ReadToEnd();
        var changed = Sample("c1");
        changed.Pid = 99;
        s.Save(changed);
        held.Position = 0;
        Assert.That(new StreamReader(held).ReadToEnd(), Is.EqualTo(old));
        Assert.That(s.Load("c1").Pid, Is.EqualTo(99));
    }

    [Test]
    public void Load_UnknownId_SaysDoesNotExist()
    {
        var e = Assert.Throws<RuncsException>(() => Store.Load("ghost"));
        Assert.That(e!.Message, Is.EqualTo("container does not exist: ghost"));
        Assert.That(Store.TryLoad("ghost", out var st), Is.False);
        Assert.That(st, Is.Null);
    }

    [Test]
    public void Load_CorruptState_SaysCorrupt()
    {
        var dir = Store.ClaimDir("c1");
        File.WriteAllText(Path.Combine(dir, StateStore.StateFile), "{\"id\": ");
        var e = Assert.Throws<RuncsException>(() => Store.Load("c1"));
        Assert.That(e!.Message, Does.Contain("corrupt"));
    }

    [Test]
    public void ListIds_OnlyDirsWithState_Sorted_NoHidden()
    {
        var s = Store;
        Assert.That(s.ListIds(), Is.Empty, "missing root lists nothing");
        foreach (var id in new[] { "b", "a", "C" }) { s.ClaimDir(id); s.Save(Sample(id)); }
        s.ClaimDir("creating"); // no state.json yet
        Directory.CreateDirectory(Path.Combine(s.Root, ".tmp"));
        File.WriteAllText(Path.Combine(s.Root, ".tmp", StateStore.StateFile), "{}");
        File.WriteAllText(Path.Combine(s.Root, "plainfile"), "");
        Assert.That(s.ListIds(), Is.EqualTo(new[] { "C", "a", "b" }));
    }

    [Test]
    public void Lock_IsExclusiveWhileHeld_AndReleasedOnDispose()
    {
        var s = Store;
        var dir = s.ClaimDir("c1");
        var lockPath = Path.Combine(dir, StateStore.LockFile);
        using (s.Lock("c1"))
        {
            Assert.That(TryFlockNb(lockPath), Is.False, "a second LOCK_EX|LOCK_NB must fail while the lock is held");
        }
        Assert.That(TryFlockNb(lockPath), Is.True, "free after Dispose");
    }

    [Test]
    public void Lock_BlocksASecondLockerUntilReleased()
    {
        var s = Store;
        s.ClaimDir("c1");
        var held = s.Lock("c1");
        var got = new ManualResetEventSlim();
        var t = new Thread(() => { using (s.Lock("c1")) got.Set(); }) { IsBackground = true };
        t.Start();
        Assert.That(got.Wait(200), Is.False, "second locker must wait");
        held.Dispose();
        Assert.That(got.Wait(5000), Is.True, "second locker gets the lock after release");
        t.Join();
    }

    [Test]
    public void Lock_UnknownContainer_SaysDoesNotExist()
    {
        var e = Assert.Throws<RuncsException>(() => Store.Lock("ghost"));
        Assert.That(e!.Message, Is.EqualTo("container does not exist: ghost"));
    }

    private static bool TryFlockNb(string path)
    {
        int fd = Libc.open(path, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), "open " + path);
        try
        {
            if (Libc.flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) == 0) return true;
            Assert.That(Libc.Errno, Is.EqualTo(11), "EWOULDBLOCK");
            return false;
        }
        finally { Libc.close(fd); }
    }

    [Test]
    public void RemoveDir_RemovesEverything_AndIsIdempotent()
    {
        var s = Store;
        var dir = s.ClaimDir("c1");
        s.Save(Sample("c1"));
        using (s.Lock("c1")) { }
        s.RemoveDir("c1");
        Assert.That(Directory.Exists(dir), Is.False);
        Assert.DoesNotThrow(() => s.RemoveDir("c1"));
        Assert.That(s.Exists("c1"), Is.False);
    }
}
