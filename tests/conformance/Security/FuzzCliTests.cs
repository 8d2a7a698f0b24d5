using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Fuzz;

namespace Runcs.Conformance.Security;

/// <summary>
/// Issue #8 "hostile and broken input" through the binary: mutated real-world config.json files go to
/// `runcs create`, process.json files to `runcs exec --process`, resource documents to `runcs update
/// --resources`. Oracle: exit 0 (then delete works), or exit 1 with exactly one stderr line and nothing
/// left in --root; never a crash (signal, exit &gt; 1, "Unhandled exception", stack trace).
/// The generator is tests/Runtime.Tests/Fuzz/ConfigMutator.cs (the in-process campaign runs it for
/// 100k+ cases). CI slice: RUNCS_FUZZ_CLI_CASES (default 300 configs, a third as many process and
/// resources documents); RUNCS_FUZZ_START picks the first case number.
/// For the host's safety the mutated config keeps root.path = the bundle's private rootfs copy, a
/// mount namespace, no namespace paths, no hooks and a private relative cgroupsPath (applied only when
/// the mutated document still parses; everything else reaches runcs as generated).
/// </summary>
[TestFixture, NonParallelizable, Category("Security"), Category("Fuzz")]
public class FuzzCliTests
{
    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("RUNCS_FUZZ_CLI_CASES"), out var n) && n > 0 ? n : 300;
    private static long Start => long.TryParse(Environment.GetEnvironmentVariable("RUNCS_FUZZ_START"), out var n) ? n : 0;

    private static List<(string Name, JsonObject Config)> Seeds() => ConfigMutator.ConfigSeeds(Env.Repo);

    /// <summary>Safety rails for a mutated config that still parses (see the class comment); returns the bytes to write.</summary>
    private static byte[]? Rails(byte[] bytes, string cgroup, string what)
    {
        try { return RailsUnchecked(bytes, cgroup); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // A duplicated key (runcs, like runc, accepts them: the last one wins) that the rails cannot see through:
            // harmless keys go as generated, a duplicated root/namespace/hook/cgroup/args value is not run on this host.
            string[] unsafeKeys = ["/root", "/path", "namespaces", "hooks", "cgroupsPath", "/args", "/linux"];
            return what.Split("; ").Where(w => w.StartsWith("duplicate key")).Any(w => unsafeKeys.Any(w.Contains) || w == "duplicate key /linux") ? null : bytes;
        }
    }

    private static byte[] RailsUnchecked(byte[] bytes, string cgroup)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException) { return bytes; }
        if (node is not JsonObject c) return bytes;
        _ = c.ToJsonString(); // duplicate keys throw here (handled by Rails)
        bool changed = false;
        if (c["root"] is not JsonObject root || root["path"]?.GetValueKind() != JsonValueKind.String || root["path"]!.GetValue<string>() != "rootfs")
        {
            c["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = true };
            changed = true;
        }
        if (c.ContainsKey("hooks")) { c.Remove("hooks"); changed = true; }
        if (c["linux"] is JsonObject l)
        {
            if (l.ContainsKey("cgroupsPath")) { l["cgroupsPath"] = cgroup; changed = true; }
            if (l["namespaces"] is JsonArray ns)
            {
                bool mnt = false;
                foreach (var n in ns)
                    if (n is JsonObject o)
                    {
                        if (o.Remove("path")) changed = true;
                        if (o["type"]?.GetValueKind() == JsonValueKind.String && o["type"]!.GetValue<string>() == "mount") mnt = true;
                    }
                if (!mnt) { ns.Add(new JsonObject { ["type"] = "mount" }); changed = true; }
            }
            else { l["namespaces"] = new JsonArray(new JsonObject { ["type"] = "mount" }, new JsonObject { ["type"] = "pid" }); changed = true; }
        }
        if (c["process"] is JsonObject p && p["args"] is JsonArray)
        {
            p["args"] = new JsonArray("true");
            changed = true;
        }
        return changed ? Encoding.UTF8.GetBytes(c.ToJsonString()) : bytes;
    }

    private static void CheckOutcome(Result r, string what, List<string> crashes)
    {
        if (r.ExitCode == 0) return;
        var err = r.Stderr.TrimEnd('\n');
        if (r.ExitCode != 1) crashes.Add($"{what}: exit {r.ExitCode}: {Trim(err)}");
        else if (err.Length == 0 || err.Contains('\n')) crashes.Add($"{what}: exit 1 without exactly one stderr line: {Trim(err)}");
        else if (err.Contains("Unhandled") || err.Contains("   at ")) crashes.Add($"{what}: stack trace: {Trim(err)}");
    }

    private static string Trim(string s) => s.Length > 300 ? s[..300] + "…" : s;

    [Test]
    public void FuzzCli_Create_NeverCrashes()
    {
        using var b = new Bundle(copyRootfs: true);
        var seeds = Seeds();
        var crashes = new List<string>();
        int ok = 0, rejected = 0, skipped = 0;
        var cg = "runcs-sec-fuzz-" + Guid.NewGuid().ToString("N")[..8];
        for (long n = Start; n < Start + Cases; n++)
        {
            var (name, seed) = seeds[(int)(n % seeds.Count)];
            var g = ConfigMutator.Case(seed, n);
            var bytes = Rails(g.Bytes, cg, g.What);
            if (bytes is null) { skipped++; continue; }
            File.WriteAllBytes(b.ConfigPath, bytes);
            var id = "fz" + n;
            var io = Path.Combine(b.Dir, "io");
            Directory.CreateDirectory(io);
            var r = Bundle.ExecToFiles(Env.Runcs, ["--root", b.RuncsRoot, "create", "--bundle", b.Dir, id], Path.Combine(io, "o"), Path.Combine(io, "e"), 60_000);
            var what = $"case {n} ({name}: {g.What})";
            CheckOutcome(r, what, crashes);
            if (r.ExitCode == 0)
            {
                ok++;
                var d = Run.Exec(Env.Runcs, ["--root", b.RuncsRoot, "delete", "--force", id]);
                if (d.ExitCode != 0) crashes.Add($"{what}: created but delete --force failed: {d}");
            }
            else
            {
                rejected++;
                if (Directory.Exists(Path.Combine(b.RuncsRoot, id))) crashes.Add($"{what}: failed create left state behind: {Trim(r.Stderr)}");
            }
        }
        TestContext.Out.WriteLine($"create: {Cases} cases from {Start}: {ok} created, {rejected} rejected, {skipped} not run (duplicated host-sensitive key), {crashes.Count} bad outcomes");
        Assert.That(Sec.CgroupDirs(cg), Is.Empty, "cgroups left behind");
        Assert.That(crashes, Is.Empty, string.Join("\n", crashes.Take(10)));
    }

    /// <summary>A running container for exec/update fuzzing, recreated when a case stopped it.</summary>
    private static string Running(Bundle b, string? id)
    {
        if (id != null && b.Status(id) == "running") return id;
        if (id != null) b.Runcs("delete", "--force", id);
        b.Args("sleep", "600");
        Sec.PrivateCgroup(b, "fuzzx");
        id = b.NewId("fx");
        Assert.That(b.Create(id).ExitCode, Is.EqualTo(0));
        Assert.That(b.Runcs("start", id).ExitCode, Is.EqualTo(0));
        return id;
    }

    [Test]
    public void FuzzCli_ExecProcess_NeverCrashes()
    {
        using var b = new Bundle();
        var seeds = Seeds().Select(s => (s.Name, Seed: ConfigMutator.ProcessSeed(s.Config))).ToList();
        var crashes = new List<string>();
        string? id = null;
        int cases = Math.Max(1, Cases / 3), ok = 0;
        var file = Path.Combine(b.Dir, "process.json");
        for (long n = Start; n < Start + cases; n++)
        {
            id = Running(b, id);
            var (name, seed) = seeds[(int)(n % seeds.Count)];
            var g = ConfigMutator.Case(seed, n);
            var bytes = g.Bytes;
            // Keep the program harmless when the document still parses (args are fuzzed in process).
            try
            {
                if (JsonNode.Parse(bytes) is JsonObject p && p["args"] is JsonArray) { p["args"] = new JsonArray("true"); bytes = Encoding.UTF8.GetBytes(p.ToJsonString()); }
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException) { }
            File.WriteAllBytes(file, bytes);
            var r = b.Tool("runcs", ["exec", "--process", file, id], timeoutMs: 30_000);
            if (r.ExitCode == 0) ok++;
            CheckOutcome(r, $"case {n} ({name}: {g.What})", crashes);
        }
        TestContext.Out.WriteLine($"exec --process: {cases} cases: {ok} ran, {crashes.Count} bad outcomes");
        Assert.That(crashes, Is.Empty, string.Join("\n", crashes.Take(10)));
    }

    [Test]
    public void FuzzCli_UpdateResources_NeverCrashes()
    {
        using var b = new Bundle();
        var seed = ConfigMutator.ResourcesSeed();
        var crashes = new List<string>();
        string? id = null;
        int cases = Math.Max(1, Cases / 3), ok = 0;
        var file = Path.Combine(b.Dir, "resources.json");
        for (long n = Start; n < Start + cases; n++)
        {
            id = Running(b, id);
            var g = ConfigMutator.Case(seed, n);
            File.WriteAllBytes(file, g.Bytes);
            var r = b.Tool("runcs", ["update", "--resources", file, id], timeoutMs: 30_000);
            if (r.ExitCode == 0) ok++;
            CheckOutcome(r, $"case {n} ({g.What})", crashes);
        }
        TestContext.Out.WriteLine($"update --resources: {cases} cases: {ok} applied, {crashes.Count} bad outcomes");
        Assert.That(crashes, Is.Empty, string.Join("\n", crashes.Take(10)));
    }
}
