using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>Shared checks for the lifecycle tests: leftovers after a failed create, status-file parsing.</summary>
public static class LcAssert
{
    /// <summary>What a failed create may leave behind: runcs init processes, host mounts, state entries.</summary>
    public sealed record Snapshot(HashSet<int> InitPids, List<string> Mounts, string[] StateEntries);

    public static Snapshot Take(Bundle b) => new(
        Bundle.RuncsInitPids(),
        Bundle.MountsUnder(b.Dir).Concat(Bundle.MountsUnder(b.RootfsPath)).Concat(Bundle.MountsUnder("/run/runcs")).ToList(),
        Directory.Exists(b.RuncsRoot) ? Directory.GetFileSystemEntries(b.RuncsRoot) : []);

    /// <summary>A create failed: exit 1, one line on stderr naming <paramref name="step"/>, nothing left behind.</summary>
    public static void FailedCleanly(Bundle b, Result r, Snapshot before, params string[] step)
    {
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        var err = r.Stderr.Trim();
        Assert.That(err.Split('\n').Length, Is.EqualTo(1), "one-line error expected: " + err);
        foreach (var s in step) Assert.That(err, Does.Contain(s).IgnoreCase, r.ToString());
        // Give a dying init a moment to be reaped.
        var deadline = Environment.TickCount64 + 3000;
        Snapshot after;
        do
        {
            after = Take(b);
            if (!after.InitPids.Except(before.InitPids).Any()) break;
            Thread.Sleep(50);
        } while (Environment.TickCount64 < deadline);
        Assert.That(after.InitPids.Except(before.InitPids), Is.Empty, "runcs init processes left behind");
        Assert.That(after.Mounts.Except(before.Mounts), Is.Empty, "mounts left behind");
        Assert.That(after.StateEntries, Is.Empty, "state directory entries left behind");
    }

    /// <summary>"Key:\tvalue" lines of a /proc/*/status dump.</summary>
    public static Dictionary<string, string> Status(string text)
    {
        var d = new Dictionary<string, string>();
        foreach (var line in text.Split('\n'))
        {
            int c = line.IndexOf(':');
            if (c > 0) d[line[..c]] = line[(c + 1)..].Trim();
        }
        return d;
    }

    public static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static JsonArray Arr(params string[] items) => new(items.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());

    /// <summary>Host-side namespace link of this test process (e.g. "mnt:[4026531841]").</summary>
    public static string HostNs(string type) => new FileInfo($"/proc/self/ns/{type}").LinkTarget!;

    /// <summary>Runs the bundle with `run` and asserts exit 0; returns the container's stdout.</summary>
    public static string RunOk(Bundle b, params string[] extra)
    {
        var r = b.RunContainer(null, "runcs", extra);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return r.Stdout;
    }
}
