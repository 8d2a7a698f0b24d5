using NUnit.Framework;

namespace Runcs.Tests.Foundation;

/// <summary>Repository and shared-data locations, and per-test temporary directories.</summary>
public static class TestDirs
{
    /// <summary>The checkout: the first directory above the test binary that holds OciRuntime.sln.</summary>
    public static string Repo { get; } = FindRepo();

    /// <summary>The shared reference data, a sibling of the checkout (../shared).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(Repo, "..", "shared"));

    public static string OfficialSchemaDir => Path.Combine(Shared, "oci-runtime-spec-v1.3.0", "schema");

    private static string FindRepo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "OciRuntime.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("no OciRuntime.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh empty directory under /tmp, unique to one test.</summary>
    public static string NewTemp(string tag)
    {
        var d = Path.Combine(Path.GetTempPath(), $"runcs-ut-{tag}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    public static void Remove(string? dir)
    {
        if (dir is null) return;
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) { TestContext.Out.WriteLine($"cleanup of {dir} failed: {e.Message}"); }
    }
}

/// <summary>Base for fixtures that need a temporary directory per test, removed even on failure.</summary>
public abstract class TempDirTest
{
    protected string Tmp { get; private set; } = "";

    [SetUp]
    public void MakeTemp() => Tmp = TestDirs.NewTemp(GetType().Name);

    [TearDown]
    public void RemoveTemp() => TestDirs.Remove(Tmp);
}
