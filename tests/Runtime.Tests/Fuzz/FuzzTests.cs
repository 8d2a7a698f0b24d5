using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Cgroups;
using Runcs.Cli;
using Runcs.Containers;
using Runcs.Fuzz;
using Runcs.Spec;
using Runcs.Tests.Foundation;

namespace Runcs.Tests.Fuzz;

/// <summary>
/// Issue #8 "hostile and broken input", in process: the exact front half of `create` (parse, schema,
/// types, semantic validation, seccomp compilation), of `exec --process` (process.json parsing and
/// validation) and of `update --resources` (parsing and merging) over mutated real-world documents.
/// Oracle: every input either passes or fails with a <see cref="RuncsException"/> (which the CLI prints
/// as exit 1 + one line); any other exception is a crash of the binary (NativeAOT aborts with a stack trace).
/// Case counts: RUNCS_FUZZ_CASES per document kind (CI default 1000; `make stress` runs 100000 in batches of 10000),
/// RUNCS_FUZZ_START to replay from a case number. Failures name the case number and mutation.
/// </summary>
[TestFixture, Category("Fuzz")]
public class FuzzTests
{
    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("RUNCS_FUZZ_CASES"), out var n) && n > 0 ? n : 1000;
    private static long Start => long.TryParse(Environment.GetEnvironmentVariable("RUNCS_FUZZ_START"), out var n) ? n : 0;

    private string _bundle = "";

    [OneTimeSetUp]
    public void MakeBundle()
    {
        _bundle = TestDirs.NewTemp("fuzz");
        Directory.CreateDirectory(Path.Combine(_bundle, "rootfs"));
    }

    [OneTimeTearDown]
    public void RemoveBundle()
    {
        try { Directory.Delete(_bundle, true); } catch (IOException) { }
    }

    /// <summary>Runs <paramref name="oracle"/> over the cases of every seed, in parallel; reports the first 10 crashes.</summary>
    private static void Campaign(string kind, List<(string Name, JsonObject Seed)> seeds, Action<byte[]> oracle)
    {
        var failures = new ConcurrentBag<string>();
        var sw = Stopwatch.StartNew();
        long total = Cases, passed = 0, rejected = 0;
        Parallel.For(Start, Start + total, new ParallelOptions { MaxDegreeOfParallelism = 2 }, n =>
        {
            var (name, seed) = seeds[(int)(n % seeds.Count)];
            ConfigMutator.Generated g;
            try { g = ConfigMutator.Case(seed, n); }
            catch (Exception e) { failures.Add($"generator failed on case {n}: {e}"); return; }
            try
            {
                oracle(g.Bytes);
                Interlocked.Increment(ref passed);
            }
            catch (RuncsException e)
            {
                Interlocked.Increment(ref rejected);
                if (string.IsNullOrWhiteSpace(e.Message)) failures.Add($"{kind} case {n} ({name}: {g.What}): empty error message");
            }
            catch (Exception e)
            {
                failures.Add($"{kind} case {n} ({name}: {g.What}): unhandled {e.GetType().Name}: {e.Message.Split('\n')[0]} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
            }
        });
        TestContext.Out.WriteLine($"{kind}: {total} cases from {Start} ({seeds.Count} seeds) in {sw.Elapsed.TotalSeconds:F1} s: {passed} accepted, {rejected} rejected cleanly, {failures.Count} crashes");
        if (!failures.IsEmpty)
            Assert.Fail($"{failures.Count} inputs crash instead of failing cleanly (replay one with RUNCS_FUZZ_START=N RUNCS_FUZZ_CASES=1):\n" +
                        string.Join("\n", failures.OrderBy(f => f).Take(10)));
    }

    private static List<(string, JsonObject)> ConfigSeeds()
    {
        var seeds = ConfigMutator.ConfigSeeds(TestDirs.Repo);
        seeds.Add(("runcs-spec", JsonNode.Parse(JsonSerializer.Serialize(DefaultSpec.Create(false), RuncsJson.Default.Config))!.AsObject()));
        return seeds;
    }

    /// <summary>The seeds themselves are valid: mutations start from documents runcs accepts.</summary>
    [Test]
    public void Fuzz_Seeds_AreAccepted()
    {
        foreach (var (name, seed) in ConfigSeeds())
        {
            seed["root"] = new JsonObject { ["path"] = "rootfs" };
            var c = ConfigLoader.Parse(Encoding.UTF8.GetBytes(seed.ToJsonString()));
            Assert.DoesNotThrow(() => Validator.Validate(c, _bundle, forCreate: true), name);
        }
    }

    /// <summary>config.json: what `create` does before it claims the id (ConfigLoader.LoadBundle + seccomp compilation).</summary>
    [Test]
    public void Fuzz_Config_NeverCrashes()
    {
        var seeds = ConfigSeeds();
        Campaign("config.json", seeds, bytes =>
        {
            var c = ConfigLoader.Parse(bytes);
            Validator.Validate(c, _bundle, forCreate: true);
            SeccompSetup.Compile(c.Linux?.Seccomp);
        });
    }

    /// <summary>process.json of `exec --process`: the real <see cref="ExecCommand.BuildProcess"/> and <see cref="Validator.ValidateProcess"/>.</summary>
    [Test]
    public void Fuzz_ExecProcess_NeverCrashes()
    {
        var seeds = ConfigMutator.ConfigSeeds(TestDirs.Repo).Select(s => (s.Name, ConfigMutator.ProcessSeed(s.Config))).ToList();
        var cmd = CommandLine.Commands.First(c => c.Name == "exec");
        var config = new Config { Process = new Runcs.Spec.Process() };
        var dir = TestDirs.NewTemp("fuzz-proc");
        int seq = 0;
        try
        {
            Campaign("process.json", seeds, bytes =>
            {
                var f = Path.Combine(dir, $"p{Interlocked.Increment(ref seq) % 4}-{Environment.CurrentManagedThreadId}.json");
                File.WriteAllBytes(f, bytes);
                var inv = new Invocation { Global = new GlobalOptions(), Command = cmd };
                inv.Flags["process"] = [f];
                inv.Args.Add("id");
                var p = ExecCommand.BuildProcess(inv, config);
                Validator.ValidateProcess(p, "", needArgs: true);
            });
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>--resources of `update`: parsing and merging over a container's resources.</summary>
    [Test]
    public void Fuzz_UpdateResources_NeverCrashes()
    {
        var seed = ConfigMutator.ResourcesSeed();
        var current = UpdateFlags.ParseResourcesJson(seed.ToJsonString());
        Campaign("resources", [("resources", seed)], bytes =>
        {
            string json;
            try { json = new UTF8Encoding(false, true).GetString(bytes); }
            catch (DecoderFallbackException) { json = Encoding.UTF8.GetString(bytes); } // the CLI reads text the lenient way
            var delta = UpdateFlags.ParseResourcesJson(json);
            UpdateFlags.Merge(current, delta);
        });
    }
}
