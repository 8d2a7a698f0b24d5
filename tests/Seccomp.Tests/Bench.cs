using NUnit.Framework;
namespace Runcs.Seccomp.Tests;
/// <summary>Numbers for bench/seccomp/results.md (run: dotnet test --filter Category=Bench).</summary>
public class Bench
{
    [TestCase("docker-run.json"), TestCase("podman-run.json"), Category("Bench")]
    public void RealProfile(string file)
    {
        var p = DifferentialTests.Load(file);
        var ours = SeccompCompiler.Compile(p, SeccompArch.X86_64).Instructions;
        var plain = SeccompCompiler.Compile(p, SeccompArch.X86_64, new SeccompCompileOptions { EnosysForNewerSyscalls = false }).Instructions;
        var l1 = LibSeccomp.Build(p, 1);
        var l2 = LibSeccomp.Build(p, 2);
        TestContext.Out.WriteLine($"length: ours {ours.Length} (without ENOSYS stub {plain.Length}); libseccomp default {l1.Length}; libseccomp optimize=2 {l2.Length}");
        foreach (var name in new[] { "read", "write", "futex", "epoll_wait", "openat", "kexec_load" })
        {
            var d = new SeccompData(SyscallTable.Resolve(SeccompArch.X86_64, name)!.Value, AuditArch.X86_64);
            TestContext.Out.WriteLine($"{name}: ours {BpfInterpreter.Run(ours, d).Executed} (no stub {BpfInterpreter.Run(plain, d).Executed}), libseccomp default {BpfInterpreter.Run(l1, d).Executed}, optimize=2 {BpfInterpreter.Run(l2, d).Executed} -> {Disassembler.ActionName(BpfInterpreter.Run(ours, d).Value)}");
        }
        for (var i = 0; i < 300; i++) SeccompCompiler.Compile(p, SeccompArch.X86_64);
        var times = new double[2000];
        var alloc0 = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < times.Length; i++)
        {
            var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            SeccompCompiler.Compile(p, SeccompArch.X86_64);
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        var bytes = (GC.GetAllocatedBytesForCurrentThread() - alloc0) / times.Length;
        Array.Sort(times);
        TestContext.Out.WriteLine($"compile time: median {times[times.Length / 2]:0.000} ms, p10 {times[times.Length / 10]:0.000} ms, p90 {times[times.Length * 9 / 10]:0.000} ms; {bytes / 1024.0:0.0} KiB allocated per compile" +
#if DEBUG
            " (Debug build: run with -c Release for the real number)"
#else
            " (Release build)"
#endif
            );
    }

    /// <summary>The target as a regression test: for the listed syscalls, never more executed
    /// instructions than the better of libseccomp's two layouts (runc's stub included in ours).</summary>
    [TestCase("docker-run.json")]
    [TestCase("podman-run.json")]
    public void Hot_path_never_longer_than_libseccomp_best(string file)
    {
        var p = DifferentialTests.Load(file);
        var ours = SeccompCompiler.Compile(p, SeccompArch.X86_64).Instructions;
        var l1 = LibSeccomp.Build(p, 1);
        var l2 = LibSeccomp.Build(p, 2);
        foreach (var name in new[] { "read", "write", "futex", "epoll_wait", "openat", "kexec_load" })
        {
            var d = new SeccompData(SyscallTable.Resolve(SeccompArch.X86_64, name)!.Value, AuditArch.X86_64);
            var best = Math.Min(BpfInterpreter.Run(l1, d).Executed, BpfInterpreter.Run(l2, d).Executed);
            Assert.That(BpfInterpreter.Run(ours, d).Executed, Is.LessThanOrEqualTo(best), name);
        }
    }

    [Test]
    public void Compile_time_of_docker_profile_under_1ms()
    {
        var p = DifferentialTests.Load("docker-run.json");
        for (var i = 0; i < 100; i++) SeccompCompiler.Compile(p, SeccompArch.X86_64);
        // best of three medians: the CI box is shared, one noisy batch must not fail the build
        var best = double.MaxValue;
        for (var batch = 0; batch < 3; batch++)
        {
            var t = new double[101];
            for (var i = 0; i < t.Length; i++)
            {
                var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                SeccompCompiler.Compile(p, SeccompArch.X86_64);
                t[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(t);
            best = Math.Min(best, t[t.Length / 2]);
        }
        TestContext.Out.WriteLine($"median compile time {best:0.000} ms");
        Assert.That(best, Is.LessThan(1.0));
    }
}
