using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;

namespace Runcs.Conformance.Terminal;

/// <summary>
/// runtime-spec config.md "process.terminal" / "consoleSize" and runc's --console-socket protocol:
/// the pty master arrives over SCM_RIGHTS; the slave is the process's stdio, controlling terminal
/// and /dev/console. Also run/exec -t attaching the caller's terminal (a pty made by `script`).
/// </summary>
[TestFixture, NonParallelizable]
public unsafe class TerminalTests
{
    [StructLayout(LayoutKind.Sequential)] private struct IoVec { public void* Base; public nint Len; }
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr { public void* Name; public int NameLen; public int P0; public IoVec* Iov; public nint IovLen; public void* Control; public nint ControlLen; public int Flags; public int P1; }
    [DllImport("libc", SetLastError = true)] private static extern nint recvmsg(int fd, MsgHdr* msg, int flags);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte* buf, nint n);
    [DllImport("libc")] private static extern int close(int fd);

    /// <summary>A console socket: accepts one connection, receives the master, reads it to EOF.</summary>
    private sealed class ConsoleReceiver : IDisposable
    {
        private readonly Socket _listener;
        private readonly Task<string> _task;
        public string Path { get; }
        public string Name = "";

        public ConsoleReceiver(string path)
        {
            Path = path;
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(1);
            _task = Task.Run(Receive);
        }

        private string Receive()
        {
            using var conn = _listener.Accept();
            byte* buf = stackalloc byte[4096];
            byte* control = stackalloc byte[64];
            var iov = new IoVec { Base = buf, Len = 4096 };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
            nint n = recvmsg((int)conn.Handle, &msg, 0);
            if (n < 0 || *(int*)(control + 12) != 1) return "<no fd>";
            Name = Encoding.UTF8.GetString(buf, (int)n);
            int master = *(int*)(control + 16);
            var sb = new StringBuilder();
            while (true)
            {
                nint r = read(master, buf, 4096);
                if (r <= 0) break; // EIO once the container's side is closed
                sb.Append(Encoding.UTF8.GetString(buf, (int)r));
            }
            close(master);
            return sb.ToString();
        }

        public string Output(int timeoutMs = 20_000) => _task.Wait(timeoutMs) ? _task.Result : "<timeout>";
        public void Dispose() => _listener.Dispose();
    }

    [Test]
    public void ConsoleSocket_MasterArrives_SlaveIsStdioCttyAndConsole_SizeApplied()
    {
        using var b = new Bundle();
        b.Process["terminal"] = true;
        b.Process["consoleSize"] = new System.Text.Json.Nodes.JsonObject { ["height"] = 33, ["width"] = 99 };
        b.Sh("tty; stty size; ls -l /dev/console | cut -c1; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; grep -c . /proc/self/stat >/dev/null; ps -o tty= 2>/dev/null; echo done");
        b.SaveConfig();
        using var cons = new ConsoleReceiver(b.Path_("console.sock"));
        var id = b.NewId("tt");
        var r = b.Runcs("create", "--bundle", b.Dir, "--console-socket", cons.Path, id);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        var outp = cons.Output();
        Assert.That(outp, Does.Contain("/dev/pts/0"), outp);
        Assert.That(outp, Does.Contain("33 99"), outp);
        Assert.That(outp, Does.Contain("\nc").Or.Contain("c\r"), "/dev/console is a character device: " + outp);
        Assert.That(outp, Does.Contain("all-tty").And.Contain("done"), outp);
        Assert.That(outp, Does.Contain("\r\n"), "output went through a tty line discipline");
        Assert.That(cons.Name, Is.Not.Empty);
    }

    [Test]
    public void Terminal_WithoutConsoleSocket_CreateFailsClearly()
    {
        using var b = new Bundle();
        b.Process["terminal"] = true;
        b.Args("true");
        b.SaveConfig();
        var r = b.Create(b.NewId("tt"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("console socket"), r.ToString());
        Assert.That(Directory.Exists(b.RuncsRoot) ? Directory.GetFileSystemEntries(b.RuncsRoot) : [], Is.Empty);
    }

    [Test]
    public void ConsoleSocket_WithoutTerminal_IsRefused()
    {
        using var b = new Bundle();
        b.Args("true");
        b.SaveConfig();
        var r = b.Create(b.NewId("tt"), "runcs", "--console-socket", b.Path_("nowhere.sock"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("--console-socket"), r.ToString());
    }

    [Test]
    public void ExecTty_WithConsoleSocket_GetsAPtyOfTheContainer()
    {
        using var b = new Bundle();
        b.Args("sleep", "30");
        b.SaveConfig();
        var id = b.NewId("tt");
        Assert.That(b.Runcs("run", "--detach", "--bundle", b.Dir, id).ExitCode, Is.EqualTo(0));
        using var cons = new ConsoleReceiver(b.Path_("exec.sock"));
        var r = b.Runcs("exec", "-t", "--console-socket", cons.Path, id, "sh", "-c", "tty; [ -t 0 ] && echo in-tty");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var outp = cons.Output();
        Assert.That(outp, Does.Match(@"/dev/pts/\d+").And.Contain("in-tty"), outp);
    }

    [Test]
    public void RunTty_AttachesTheCallersTerminal()
    {
        using var b = new Bundle();
        b.Process["terminal"] = true;
        b.Sh("tty; echo code-$((6*7)); exit 7");
        b.SaveConfig();
        var id = b.NewId("tt");
        // `script` gives runcs a pty as its stdio, as a user's terminal would.
        var cmd = $"{Env.Runcs} --root {b.RuncsRoot} run --bundle {b.Dir} {id}";
        var r = Run.Exec("script", ["-qec", cmd, "/dev/null"], timeoutMs: 30_000);
        Assert.That(r.Stdout, Does.Match(@"/dev/pts/\d+").And.Contain("code-42"), r.ToString());
        Assert.That(r.ExitCode, Is.EqualTo(7), r.ToString());
    }

    [Test]
    public void ApparmorProfile_OnAHostWithoutAppArmor_IsAClearError()
    {
        using var b = new Bundle();
        b.Process["apparmorProfile"] = "docker-default";
        b.Args("true");
        b.SaveConfig();
        var r = b.Create(b.NewId("tt"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("/process/apparmorProfile").And.Contain("AppArmor"), r.ToString());
    }
}
