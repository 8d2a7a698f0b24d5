using System.Text.Json;
using Runcs.Cli;
using Runcs.Linux;
using Runcs.Spec;

namespace Runcs.Containers;

/// <summary>`runcs spec [--rootless] [--bundle B]`: writes a starter config.json, never overwriting one.</summary>
public static class SpecCommand
{
    public static int Run(Invocation inv)
    {
        var bundle = inv.Get("bundle") ?? ".";
        if (!Directory.Exists(bundle)) throw new RuncsException($"bundle directory {bundle} does not exist");
        var path = Path.Combine(bundle, "config.json");
        bool rootless = inv.Bool("rootless");
        uint uid = Libc.geteuid();
        uint gid = Libc.getegid();
        var config = DefaultSpec.Create(rootless, uid, gid);
        var options = new JsonSerializerOptions(RuncsJson.Default.Options) { WriteIndented = true, IndentCharacter = '\t', IndentSize = 1 };
        var ctx = new RuncsJson(options);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(config, ctx.Config);
        try
        {
            // CreateNew is the atomic "refuse to overwrite".
            using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            fs.Write(bytes);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new RuncsException($"File {path} exists. Remove it first");
        }
        return 0;
    }
}
