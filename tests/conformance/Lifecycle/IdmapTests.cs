using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Runcs.Conformance.Lifecycle;

/// <summary>config.md "Mounts": the idmap and ridmap options with the mount's uidMappings/gidMappings.</summary>
[TestFixture]
public class IdmapTests
{
    private static JsonArray Map(uint c, uint h, uint n) => new(new JsonObject { ["containerID"] = c, ["hostID"] = h, ["size"] = n });

    private static (string Src, string Sub) HostDir(Bundle b)
    {
        var src = b.Path_("vol", mkdir: true);
        File.WriteAllText(Path.Combine(src, "f"), "hi");
        var sub = Path.Combine(src, "sub");
        Directory.CreateDirectory(sub);
        return (src, sub);
    }

    [Test]
    public void Idmap_FilesOfTheSourceAppearThroughTheMountsMapping()
    {
        using var b = new Bundle();
        var (src, _) = HostDir(b);
        var m = new JsonObject
        {
            ["destination"] = "/mnt/idm", ["type"] = "bind", ["source"] = src, ["options"] = new JsonArray("bind", "idmap"),
            ["uidMappings"] = Map(0, 1000, 1), ["gidMappings"] = Map(0, 2000, 1),
        };
        b.Mounts.Add(m);
        b.Sh("stat -c '%u:%g' /mnt/idm/f; cat /mnt/idm/f");
        var outp = LcAssert.RunOk(b);
        Assert.That(outp, Does.Contain("1000:2000").And.Contain("hi"), outp);
        // On the host nothing changed.
        Assert.That(File.GetUnixFileMode(Path.Combine(src, "f")), Is.Not.EqualTo((UnixFileMode)0));
    }

    [Test]
    public void Ridmap_AppliesToSubmountsToo_IdmapOnlyToTheTop()
    {
        using var b = new Bundle();
        var (src, sub) = HostDir(b);
        // A submount inside the source: a tmpfs, whose root is owned by root.
        Assert.That(Run.Exec("mount", ["-t", "tmpfs", "tmpfs", sub]).ExitCode, Is.EqualTo(0));
        b.OnCleanup(() => Run.Exec("umount", ["-l", sub]));
        foreach (var (dest, opt) in new[] { ("/mnt/r", "ridmap"), ("/mnt/i", "idmap") })
            b.Mounts.Add(new JsonObject
            {
                ["destination"] = dest, ["type"] = "bind", ["source"] = src, ["options"] = new JsonArray("rbind", opt),
                ["uidMappings"] = Map(0, 1000, 1), ["gidMappings"] = Map(0, 2000, 1),
            });
        b.Sh("stat -c '%u' /mnt/r/sub; stat -c '%u' /mnt/i/sub");
        var lines = LcAssert.Lines(LcAssert.RunOk(b));
        Assert.That(lines, Is.EqualTo(new[] { "1000", "0" }), "ridmap maps the submount, idmap leaves it as is");
    }

    [Test]
    public void Idmap_WithoutAnyMapping_IsAClearConfigError()
    {
        using var b = new Bundle();
        var (src, _) = HostDir(b);
        b.Mounts.Add(new JsonObject { ["destination"] = "/mnt/idm", ["type"] = "bind", ["source"] = src, ["options"] = new JsonArray("bind", "idmap") });
        b.Args("true");
        b.SaveConfig();
        var r = b.Create(b.NewId("idm"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("/mounts/").And.Contain("idmap"), r.ToString());
        Assert.That(Directory.Exists(b.RuncsRoot) ? Directory.GetFileSystemEntries(b.RuncsRoot) : [], Is.Empty);
    }
}
