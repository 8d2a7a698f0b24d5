using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runcs.Seccomp;

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(SeccompProfile))]
internal sealed partial class SeccompJsonContext : JsonSerializerContext;

/// <summary>Entry points for the CLI (<c>runcs seccomp compile|check</c>).</summary>
public static class SeccompTool
{
    /// <summary>Parses either a full config.json (uses <c>linux.seccomp</c>) or a bare profile.</summary>
    public static SeccompProfile ParseProfile(string jsonText)
    {
        try
        {
            using var doc = JsonDocument.Parse(jsonText, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new SeccompException("seccomp: JSON input is not an object");
            var el = root;
            if (root.TryGetProperty("linux", out var linux) || root.TryGetProperty("ociVersion", out _))
            {
                if (linux.ValueKind != JsonValueKind.Object || !linux.TryGetProperty("seccomp", out el) || el.ValueKind != JsonValueKind.Object)
                    throw new SeccompException("linux.seccomp: the config has no seccomp profile");
            }
            else if (!root.TryGetProperty("defaultAction", out _))
                throw new SeccompException("defaultAction: not a config.json nor a seccomp profile (no linux.seccomp, no defaultAction)");
            return el.Deserialize(SeccompJsonContext.Default.SeccompProfile) ?? throw new SeccompException("linux.seccomp: null");
        }
        catch (JsonException e)
        {
            throw new SeccompException($"seccomp: invalid JSON{(e.Path is { } p ? " at " + p : "")}: {FirstLine(e.Message)}");
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private static SeccompArch ParseArch(string? arch, SeccompArch native)
    {
        if (arch is null) return native;
        if (ArchInfo.TryParse(arch, out var a)) return a;
        var spec = "SCMP_ARCH_" + arch.ToUpperInvariant();
        if (ArchInfo.TryParse(spec, out a)) return a;
        if (arch is "amd64") return SeccompArch.X86_64;
        if (arch is "arm64") return SeccompArch.Aarch64;
        if (arch is "i386" or "i686") return SeccompArch.X86;
        throw new SeccompException($"arch: unknown architecture \"{arch}\"");
    }

    /// <summary>Compiles and prints disassembly and stats.</summary>
    public static SeccompProgram Compile(string jsonText, TextWriter output, SeccompArch? native = null, SeccompCompileOptions? options = null)
    {
        var profile = ParseProfile(jsonText);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var prog = SeccompCompiler.Compile(profile, native ?? ArchInfo.Native, options);
        sw.Stop();
        Disassembler.Write(prog.Instructions, output);
        var st = prog.Stats;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"length: {st.Length} instructions; rules with conditions: {st.RuleCount}; unknown names skipped: {st.SkippedUnknownNames}; compile: {sw.Elapsed.TotalMilliseconds:0.###} ms"));
        output.WriteLine($"default: {Disassembler.ActionName(prog.DefaultAction)}; flags: 0x{prog.Flags:x}; listener: {(prog.NeedsListener ? "yes" : "no")}");
        foreach (var s in st.Sections)
            output.WriteLine($"arch {s.Arches} (audit 0x{s.AuditArch:x8}): {s.Syscalls} syscalls with rules, path min {s.MinPath} max {s.MaxPath}");
        if (st.IgnoredArchitectures.Count > 0)
            output.WriteLine($"ignored (other byte order than the native arch): {string.Join(", ", st.IgnoredArchitectures)}");
        return prog;
    }

    /// <summary>Prints the action the filter takes for <paramref name="syscallName"/> (a name or a number)
    /// with <paramref name="args"/> on <paramref name="arch"/> (default: native), e.g. <c>SCMP_ACT_ERRNO(1)</c>.</summary>
    public static uint Check(string jsonText, string syscallName, ulong[] args, string? arch, TextWriter output, SeccompArch? native = null, SeccompCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 6) throw new SeccompException($"args: at most 6 arguments, got {args.Length}");
        var nat = native ?? ArchInfo.Native;
        var a = ParseArch(arch, nat);
        int nr;
        if (int.TryParse(syscallName, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) nr = n;
        else if (SyscallTable.Resolve(a, syscallName) is { } r) nr = r;
        else throw new SeccompException($"syscall: \"{syscallName}\" is not a syscall on {ArchInfo.Get(a).SpecName}");
        var prog = SeccompCompiler.Compile(ParseProfile(jsonText), nat, options);
        var data = new SeccompData(nr, ArchInfo.Get(a).AuditArch, args);
        var res = BpfInterpreter.Run(prog.Instructions, data);
        output.WriteLine(Disassembler.ActionName(res.Value));
        return res.Value;
    }
}
