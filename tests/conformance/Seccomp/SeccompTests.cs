using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Seccomp;

/// <summary>
/// runtime-spec config-linux.md "Seccomp", enforced in real containers: actions, errnoRet,
/// argument filtering, and SCMP_ACT_NOTIFY delivering its listener to an agent this test runs.
/// </summary>
[TestFixture, NonParallelizable]
public unsafe class SeccompTests
{
    private static JsonObject Profile(string defaultAction, params JsonObject[] rules) => new()
    {
        ["defaultAction"] = defaultAction,
        ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
        ["syscalls"] = new JsonArray(rules),
    };

    private static JsonObject Rule(string action, string[] names, uint? errno = null, params JsonObject[] args)
    {
        var r = new JsonObject { ["names"] = new JsonArray(names.Select(n => (JsonNode)n).ToArray()), ["action"] = action };
        if (errno is { } e) r["errnoRet"] = e;
        if (args.Length > 0) r["args"] = new JsonArray(args);
        return r;
    }

    private static JsonObject Arg(uint index, ulong value, string op) => new() { ["index"] = index, ["value"] = value, ["op"] = op };

    private static string Run(Bundle b, out int exit)
    {
        var id = b.NewId("sc");
        b.SaveConfig();
        var r = b.RunContainer(id);
        exit = r.ExitCode;
        return b.ContainerOutput(id) + r.Stderr;
    }

    [Test]
    public void Errno_DeniedSyscallReturnsConfiguredErrno()
    {
        using var b = new Bundle();
        b.Linux["seccomp"] = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"], 99));
        b.Sh("mkdir /dev/shm/x; echo rc=$?");
        var outp = Run(b, out _);
        Assert.That(outp, Does.Contain("Cannot assign requested address").And.Contain("rc=1"), outp);
    }

    [Test]
    public void DefaultErrnoRet_AppliesToTheDefaultAction()
    {
        using var b = new Bundle();
        // Docker's allow list without mkdir/mkdirat, default ERRNO(99): mkdir gets the default errno.
        var docker = JsonNode.Parse(File.ReadAllText(Path.Combine(Env.Repo, "..", "shared", "real-world-configs", "docker-run.json")))!;
        var p = docker["linux"]!["seccomp"]!.DeepClone().AsObject();
        foreach (var rule in p["syscalls"]!.AsArray())
        {
            var names = rule!["names"]!.AsArray();
            for (int i = names.Count - 1; i >= 0; i--)
                if (names[i]!.GetValue<string>() is "mkdir" or "mkdirat") names.RemoveAt(i);
        }
        p["defaultAction"] = "SCMP_ACT_ERRNO";
        p["defaultErrnoRet"] = 99;
        b.Linux["seccomp"] = p;
        b.Sh("mkdir /dev/shm/x; echo rc=$?");
        var outp = Run(b, out _);
        Assert.That(outp, Does.Contain("Cannot assign requested address").And.Contain("rc=1"), outp);
    }

    [Test]
    public void KillProcess_KillsWithSigsys()
    {
        using var b = new Bundle();
        b.Linux["seccomp"] = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_KILL_PROCESS", ["uname"]));
        b.Args("uname");
        var outp = Run(b, out int exit);
        Assert.That(exit, Is.EqualTo(159), "SIGSYS is 31: run exits 128+31 " + outp);
    }

    [Test]
    public void Log_Allows()
    {
        using var b = new Bundle();
        b.Linux["seccomp"] = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_LOG", ["uname"]));
        b.Sh("uname; echo rc=$?");
        var outp = Run(b, out _);
        Assert.That(outp, Does.Contain("Linux").And.Contain("rc=0"), outp);
    }

    [Test]
    public void ArgumentFiltering_MatchesOnlyTheGivenValue()
    {
        using var b = new Bundle();
        // kill(pid, 0) is refused; other signals pass.
        b.Linux["seccomp"] = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", ["kill"], 1, Arg(1, 0, "SCMP_CMP_EQ")));
        b.Sh("kill -0 1; echo zero=$?; kill -CONT 1; echo cont=$?");
        var outp = Run(b, out _);
        Assert.That(outp, Does.Contain("zero=1").And.Contain("cont=0"), outp);
    }

    [Test]
    public void DockerProfile_PersonalityRules()
    {
        using var b = new Bundle();
        var docker = JsonNode.Parse(File.ReadAllText(Path.Combine(Env.Repo, "..", "shared", "real-world-configs", "docker-run.json")))!;
        b.Linux["seccomp"] = docker["linux"]!["seccomp"]!.DeepClone();
        // personality(PER_LINUX32) is one of the values Docker allows; unshare(CLONE_NEWUSER) is denied (EPERM).
        b.Sh("linux32 true; echo p=$?; grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null; echo u=$?");
        var outp = Run(b, out _);
        Assert.That(outp, Does.Contain("p=0").And.Contain("Seccomp:\t2").And.Contain("u=1"), outp);
    }

    // ---- SCMP_ACT_NOTIFY with an agent on a unix socket

    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    private const uint NOTIF_RECV = 0xC0502100, NOTIF_SEND = 0xC0182101;

    [StructLayout(LayoutKind.Sequential)] private struct IoVec { public void* Base; public nint Len; }
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr { public void* Name; public int NameLen; public int P0; public IoVec* Iov; public nint IovLen; public void* Control; public nint ControlLen; public int Flags; public int P1; }

    [DllImport("libc", SetLastError = true)] private static extern nint recvmsg(int fd, MsgHdr* msg, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int ioctl(int fd, nuint req, void* arg);
    [DllImport("libc")] private static extern int close(int fd);

    [Test]
    public void Notify_ListenerReachesTheAgent_WhichAnswersTheSyscall()
    {
        using var b = new Bundle();
        var sock = b.Path_("agent.sock");
        var p = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_NOTIFY", ["mkdir", "mkdirat"]));
        p["listenerPath"] = sock;
        p["listenerMetadata"] = "hello-agent";
        b.Linux["seccomp"] = p;
        b.Sh("mkdir /dev/shm/n; echo rc=$?");

        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(sock));
        listener.Listen(1);
        string stateJson = "";
        int answered = 0;
        var agent = Task.Run(() =>
        {
            using var conn = listener.Accept();
            byte* buf = stackalloc byte[65536];
            byte* control = stackalloc byte[64];
            var iov = new IoVec { Base = buf, Len = 65536 };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
            nint n = recvmsg((int)conn.Handle, &msg, 0);
            if (n <= 0 || *(int*)(control + 12) != SCM_RIGHTS) return;
            int fd = *(int*)(control + 16);
            stateJson = Encoding.UTF8.GetString(buf, (int)n);
            byte* notif = stackalloc byte[80];
            byte* resp = stackalloc byte[24];
            while (true)
            {
                new Span<byte>(notif, 80).Clear();
                if (ioctl(fd, NOTIF_RECV, notif) != 0) break; // the container exited
                new Span<byte>(resp, 24).Clear();
                *(ulong*)resp = *(ulong*)notif;   // id
                *(int*)(resp + 16) = -18;          // error: EXDEV
                ioctl(fd, NOTIF_SEND, resp);
                answered++;
            }
            close(fd);
        });
        var outp = Run(b, out _);
        Assert.That(agent.Wait(15_000), Is.True, "the agent finished");
        Assert.That(outp, Does.Contain("Invalid cross-device link").And.Contain("rc=1"), outp);
        Assert.That(answered, Is.GreaterThanOrEqualTo(1));
        var st = JsonNode.Parse(stateJson)!;
        Assert.That(st["fds"]![0]!.GetValue<string>(), Is.EqualTo("seccompFd"));
        Assert.That(st["metadata"]!.GetValue<string>(), Is.EqualTo("hello-agent"));
        Assert.That(st["state"]!["id"]!.GetValue<string>(), Does.StartWith("sc"));
        Assert.That(st["pid"]!.GetValue<int>(), Is.GreaterThan(0));
    }

    [Test]
    public void Exec_GetsTheContainersFilter()
    {
        using var b = new Bundle();
        b.Linux["seccomp"] = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"], 99));
        b.Args("sleep", "30");
        b.SaveConfig();
        var id = b.NewId("sc");
        Assert.That(b.Runcs("run", "--detach", "--bundle", b.Dir, id).ExitCode, Is.EqualTo(0));
        var r = b.Runcs("exec", id, "sh", "-c", "mkdir /dev/shm/e; echo rc=$?; grep Seccomp: /proc/self/status");
        Assert.That(r.Stdout + r.Stderr, Does.Contain("Cannot assign requested address").And.Contain("rc=1").And.Contain("Seccomp:\t2"), r.ToString());
    }

    [Test]
    public void InvalidProfile_IsRejectedBeforeAnythingIsCreated()
    {
        using var b = new Bundle();
        b.Linux["seccomp"] = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", ["mkdir"], null, Arg(7, 0, "SCMP_CMP_EQ")));
        b.SaveConfig();
        var r = b.RunContainer(b.NewId("sc"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("/linux/seccomp"), r.ToString());
        Assert.That(Directory.Exists(b.RuncsRoot) ? Directory.GetFileSystemEntries(b.RuncsRoot) : [], Is.Empty);
    }
}
