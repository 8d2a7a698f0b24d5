using System.Globalization;
using System.Text.Json.Serialization;

namespace Runcs.Cgroups;

// The `runcs events` model, field for field runc's types/events.go: {"type":"stats","id":..,"data":{..}}.
// Go's `omitempty` on a number omits zero (WhenWritingDefault here); on a struct it does nothing, so
// nested objects are always written.

public sealed class CgroupEvent
{
    [JsonPropertyName("type")] public string Type { get; set; } = "stats";
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("data")] public CgroupStats? Data { get; set; }
}

public sealed class CgroupStats
{
    [JsonPropertyName("cpu")] public CpuStats Cpu { get; set; } = new();
    [JsonPropertyName("cpuset")] public CpusetStats CpuSet { get; set; } = new();
    [JsonPropertyName("memory")] public MemoryStats Memory { get; set; } = new();
    [JsonPropertyName("pids")] public PidsStats Pids { get; set; } = new();
    [JsonPropertyName("blkio")] public BlkioStats Blkio { get; set; } = new();
    [JsonPropertyName("hugetlb")] public Dictionary<string, HugetlbStats> Hugetlb { get; set; } = [];
    [JsonPropertyName("intel_rdt")] public IntelRdtStats IntelRdt { get; set; } = new();
    [JsonPropertyName("network_interfaces"), JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public List<NetworkInterfaceStats>? NetworkInterfaces { get; set; }
}

public sealed class CpuUsage
{
    [JsonPropertyName("total"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Total { get; set; }
    [JsonPropertyName("percpu")] public List<ulong>? Percpu { get; set; }
    [JsonPropertyName("percpu_kernel")] public List<ulong>? PercpuKernel { get; set; }
    [JsonPropertyName("percpu_user")] public List<ulong>? PercpuUser { get; set; }
    [JsonPropertyName("kernel")] public ulong Kernel { get; set; }
    [JsonPropertyName("user")] public ulong User { get; set; }
}

public sealed class Throttling
{
    [JsonPropertyName("periods"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Periods { get; set; }
    [JsonPropertyName("throttledPeriods"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong ThrottledPeriods { get; set; }
    [JsonPropertyName("throttledTime"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong ThrottledTime { get; set; }
}

public sealed class CpuStats
{
    [JsonPropertyName("usage")] public CpuUsage Usage { get; set; } = new();
    [JsonPropertyName("throttling")] public Throttling Throttling { get; set; } = new();
}

public sealed class CpusetStats
{
    [JsonPropertyName("cpus")] public List<ushort>? Cpus { get; set; }
    [JsonPropertyName("cpu_exclusive")] public ulong CpuExclusive { get; set; }
    [JsonPropertyName("mems")] public List<ushort>? Mems { get; set; }
    [JsonPropertyName("mem_hardwall")] public ulong MemHardwall { get; set; }
    [JsonPropertyName("mem_exclusive")] public ulong MemExclusive { get; set; }
    [JsonPropertyName("memory_migrate")] public ulong MemoryMigrate { get; set; }
    [JsonPropertyName("memory_spread_page")] public ulong MemorySpreadPage { get; set; }
    [JsonPropertyName("memory_spread_slab")] public ulong MemorySpreadSlab { get; set; }
    [JsonPropertyName("memory_pressure")] public ulong MemoryPressure { get; set; }
    [JsonPropertyName("sched_load_balance")] public ulong SchedLoadBalance { get; set; }
    [JsonPropertyName("sched_relax_domain_level")] public long SchedRelaxDomainLevel { get; set; }
}

public sealed class MemoryEntry
{
    [JsonPropertyName("limit")] public ulong Limit { get; set; }
    [JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Usage { get; set; }
    [JsonPropertyName("max"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Max { get; set; }
    [JsonPropertyName("failcnt")] public ulong Failcnt { get; set; }
}

public sealed class MemoryStats
{
    [JsonPropertyName("cache"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Cache { get; set; }
    [JsonPropertyName("usage")] public MemoryEntry Usage { get; set; } = new();
    [JsonPropertyName("swap")] public MemoryEntry Swap { get; set; } = new();
    [JsonPropertyName("kernel")] public MemoryEntry Kernel { get; set; } = new();
    [JsonPropertyName("kernelTCP")] public MemoryEntry KernelTCP { get; set; } = new();
    [JsonPropertyName("raw")] public Dictionary<string, ulong>? Raw { get; set; }
}

public sealed class PidsStats
{
    [JsonPropertyName("current"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Current { get; set; }
    [JsonPropertyName("limit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Limit { get; set; }
}

public sealed class BlkioEntry
{
    [JsonPropertyName("major"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Major { get; set; }
    [JsonPropertyName("minor"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Minor { get; set; }
    [JsonPropertyName("op"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Op { get; set; }
    [JsonPropertyName("value"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Value { get; set; }
}

public sealed class BlkioStats
{
    [JsonPropertyName("ioServiceBytesRecursive")] public List<BlkioEntry>? IoServiceBytesRecursive { get; set; }
    [JsonPropertyName("ioServicedRecursive")] public List<BlkioEntry>? IoServicedRecursive { get; set; }
    [JsonPropertyName("ioQueueRecursive")] public List<BlkioEntry>? IoQueuedRecursive { get; set; }
    [JsonPropertyName("ioServiceTimeRecursive")] public List<BlkioEntry>? IoServiceTimeRecursive { get; set; }
    [JsonPropertyName("ioWaitTimeRecursive")] public List<BlkioEntry>? IoWaitTimeRecursive { get; set; }
    [JsonPropertyName("ioMergedRecursive")] public List<BlkioEntry>? IoMergedRecursive { get; set; }
    [JsonPropertyName("ioTimeRecursive")] public List<BlkioEntry>? IoTimeRecursive { get; set; }
    [JsonPropertyName("sectorsRecursive")] public List<BlkioEntry>? SectorsRecursive { get; set; }
}

public sealed class HugetlbStats
{
    [JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Usage { get; set; }
    [JsonPropertyName("max"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Max { get; set; }
    [JsonPropertyName("failcnt")] public ulong Failcnt { get; set; }
}

/// <summary>runcs has no Intel RDT support; runc writes an empty object when RDT is off.</summary>
public sealed class IntelRdtStats { }

public sealed class NetworkInterfaceStats
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("rx_bytes")] public ulong RxBytes { get; set; }
    [JsonPropertyName("rx_packets")] public ulong RxPackets { get; set; }
    [JsonPropertyName("rx_errors")] public ulong RxErrors { get; set; }
    [JsonPropertyName("rx_dropped")] public ulong RxDropped { get; set; }
    [JsonPropertyName("tx_bytes")] public ulong TxBytes { get; set; }
    [JsonPropertyName("tx_packets")] public ulong TxPackets { get; set; }
    [JsonPropertyName("tx_errors")] public ulong TxErrors { get; set; }
    [JsonPropertyName("tx_dropped")] public ulong TxDropped { get; set; }
}

/// <summary>Source-generated JSON for the events/stats model (NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(CgroupEvent))]
[JsonSerializable(typeof(CgroupStats))]
[JsonSerializable(typeof(Runcs.Spec.Resources))]
public sealed partial class CgroupsJson : JsonSerializerContext { }

internal sealed partial class CgroupManager
{
    private const ulong ClockTicks = 100; // USER_HZ, as runc assumes

    public CgroupStats GetStats()
    {
        var st = new CgroupStats();
        if (V1Dir("cpu") is { } cpu) CpuV1(cpu, st);
        if (V1Dir("cpuacct") is { } acct) CpuacctV1(acct, st);
        else if (_v2 is not null && _layout.Mode == CgroupMode.V2) CpuV2(_v2, st);
        if (V1Dir("cpuset") is { } cs) CpusetStat(cs, "cpuset.cpus", "cpuset.mems", st);
        else if (V2Has("cpuset")) CpusetStat(_v2!, "cpuset.cpus.effective", "cpuset.mems.effective", st);
        if (V1Dir("memory") is { } mem) MemoryV1(mem, st);
        else if (V2Has("memory")) MemoryV2(_v2!, st);
        string? pidsDir = V1Dir("pids") ?? (V2Has("pids") ? _v2 : null);
        if (pidsDir is not null)
        {
            st.Pids.Current = ParseOr0(Read(pidsDir, "pids.current"));
            string max = Read(pidsDir, "pids.max").Trim();
            st.Pids.Limit = max == "max" ? 0 : ParseOr0(max);
        }
        if (V1Dir("blkio") is { } bk) BlkioV1(bk, st);
        else if (V2Has("io")) IoV2(_v2!, st);
        if (V1Dir("hugetlb") is { } ht) HugetlbStat(ht, true, st);
        else if (V2Has("hugetlb")) HugetlbStat(_v2!, false, st);
        return st;
    }

    private string Read(string dir, string file) => _fs.TryRead(Path.Combine(dir, file)) ?? "";

    private static ulong ParseOr0(string s)
    {
        s = s.Trim();
        if (s == "max") return ulong.MaxValue;
        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v :
            long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) && l < 0 ? ulong.MaxValue : 0;
    }

    /// <summary>"key value" lines (cpu.stat, memory.stat, memory.events…) → map.</summary>
    internal static Dictionary<string, ulong> KeyValues(string text)
    {
        var d = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 2) d[f[0]] = ParseOr0(f[1]);
        }
        return d;
    }

    private void CpuV1(string dir, CgroupStats st)
    {
        var kv = KeyValues(Read(dir, "cpu.stat"));
        st.Cpu.Throttling.Periods = kv.GetValueOrDefault("nr_periods");
        st.Cpu.Throttling.ThrottledPeriods = kv.GetValueOrDefault("nr_throttled");
        st.Cpu.Throttling.ThrottledTime = kv.GetValueOrDefault("throttled_time");
    }

    private void CpuacctV1(string dir, CgroupStats st)
    {
        st.Cpu.Usage.Total = ParseOr0(Read(dir, "cpuacct.usage"));
        var per = Read(dir, "cpuacct.usage_percpu").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (per.Length > 0) st.Cpu.Usage.Percpu = per.Select(ParseOr0).ToList();
        var kv = KeyValues(Read(dir, "cpuacct.stat"));
        st.Cpu.Usage.User = kv.GetValueOrDefault("user") * 1_000_000_000UL / ClockTicks;
        st.Cpu.Usage.Kernel = kv.GetValueOrDefault("system") * 1_000_000_000UL / ClockTicks;
        // cpuacct.usage_all: "cpu user system" header, then one line per cpu (nanoseconds).
        var lines = Read(dir, "cpuacct.usage_all").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length > 1)
        {
            var ks = new List<ulong>(); var us = new List<ulong>();
            foreach (var l in lines.Skip(1))
            {
                var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length != 3) continue;
                us.Add(ParseOr0(f[1])); ks.Add(ParseOr0(f[2]));
            }
            st.Cpu.Usage.PercpuUser = us; st.Cpu.Usage.PercpuKernel = ks;
        }
    }

    private void CpuV2(string dir, CgroupStats st)
    {
        var kv = KeyValues(Read(dir, "cpu.stat"));
        st.Cpu.Usage.Total = kv.GetValueOrDefault("usage_usec") * 1000;
        st.Cpu.Usage.User = kv.GetValueOrDefault("user_usec") * 1000;
        st.Cpu.Usage.Kernel = kv.GetValueOrDefault("system_usec") * 1000;
        st.Cpu.Throttling.Periods = kv.GetValueOrDefault("nr_periods");
        st.Cpu.Throttling.ThrottledPeriods = kv.GetValueOrDefault("nr_throttled");
        st.Cpu.Throttling.ThrottledTime = kv.GetValueOrDefault("throttled_usec") * 1000;
    }

    private void CpusetStat(string dir, string cpusFile, string memsFile, CgroupStats st)
    {
        st.CpuSet.Cpus = ParseCpuList(Read(dir, cpusFile));
        st.CpuSet.Mems = ParseCpuList(Read(dir, memsFile));
        st.CpuSet.CpuExclusive = ParseOr0(Read(dir, "cpuset.cpu_exclusive"));
        st.CpuSet.MemExclusive = ParseOr0(Read(dir, "cpuset.mem_exclusive"));
        st.CpuSet.MemHardwall = ParseOr0(Read(dir, "cpuset.mem_hardwall"));
        st.CpuSet.MemoryMigrate = ParseOr0(Read(dir, "cpuset.memory_migrate"));
        st.CpuSet.MemorySpreadPage = ParseOr0(Read(dir, "cpuset.memory_spread_page"));
        st.CpuSet.MemorySpreadSlab = ParseOr0(Read(dir, "cpuset.memory_spread_slab"));
        st.CpuSet.MemoryPressure = ParseOr0(Read(dir, "cpuset.memory_pressure"));
        st.CpuSet.SchedLoadBalance = ParseOr0(Read(dir, "cpuset.sched_load_balance"));
        long.TryParse(Read(dir, "cpuset.sched_relax_domain_level").Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long lvl);
        st.CpuSet.SchedRelaxDomainLevel = lvl;
    }

    /// <summary>"0-2,5" → [0,1,2,5]; null when empty.</summary>
    internal static List<ushort>? ParseCpuList(string s)
    {
        s = s.Trim();
        if (s.Length == 0) return null;
        var list = new List<ushort>();
        foreach (var part in s.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0) { if (ushort.TryParse(part, out var v)) list.Add(v); continue; }
            if (ushort.TryParse(part[..dash], out var a) && ushort.TryParse(part[(dash + 1)..], out var b))
                for (int i = a; i <= b; i++) list.Add((ushort)i);
        }
        return list;
    }

    private MemoryEntry MemEntryV1(string dir, string prefix) => new()
    {
        Usage = ParseOr0(Read(dir, prefix + "usage_in_bytes")),
        Max = ParseOr0(Read(dir, prefix + "max_usage_in_bytes")),
        Failcnt = ParseOr0(Read(dir, prefix + "failcnt")),
        Limit = ParseOr0(Read(dir, prefix + "limit_in_bytes")),
    };

    private void MemoryV1(string dir, CgroupStats st)
    {
        var raw = KeyValues(Read(dir, "memory.stat"));
        st.Memory.Raw = raw;
        st.Memory.Cache = raw.GetValueOrDefault("cache");
        st.Memory.Usage = MemEntryV1(dir, "memory.");
        if (Has(dir, "memory.memsw.usage_in_bytes")) st.Memory.Swap = MemEntryV1(dir, "memory.memsw.");
        if (Has(dir, "memory.kmem.usage_in_bytes")) st.Memory.Kernel = MemEntryV1(dir, "memory.kmem.");
        if (Has(dir, "memory.kmem.tcp.usage_in_bytes")) st.Memory.KernelTCP = MemEntryV1(dir, "memory.kmem.tcp.");
    }

    private void MemoryV2(string dir, CgroupStats st)
    {
        var raw = KeyValues(Read(dir, "memory.stat"));
        st.Memory.Raw = raw;
        st.Memory.Cache = raw.GetValueOrDefault("file");
        var events = KeyValues(Read(dir, "memory.events"));
        st.Memory.Usage = new MemoryEntry
        {
            Usage = ParseOr0(Read(dir, "memory.current")),
            Limit = ParseOr0(Read(dir, "memory.max")),
            Max = ParseOr0(Read(dir, "memory.peak")),
            Failcnt = events.GetValueOrDefault("max"),
        };
        if (Has(dir, "memory.swap.current"))
        {
            // v1 reports swap as memory+swap; do the same so consumers see one meaning.
            var swap = new MemoryEntry
            {
                Usage = ParseOr0(Read(dir, "memory.swap.current")) + st.Memory.Usage.Usage,
                Limit = ParseOr0(Read(dir, "memory.swap.max")),
                Max = ParseOr0(Read(dir, "memory.swap.peak")),
            };
            if (swap.Limit != ulong.MaxValue && st.Memory.Usage.Limit != ulong.MaxValue) swap.Limit += st.Memory.Usage.Limit;
            st.Memory.Swap = swap;
        }
    }

    private void BlkioV1(string dir, CgroupStats st)
    {
        // CFQ-era files first, then the throttle ones every kernel has (what runc does).
        string bytes = Read(dir, "blkio.io_service_bytes_recursive"), ios = Read(dir, "blkio.io_serviced_recursive");
        if (bytes.Trim().Length == 0 && ios.Trim().Length == 0)
        {
            bytes = Read(dir, "blkio.throttle.io_service_bytes_recursive");
            ios = Read(dir, "blkio.throttle.io_serviced_recursive");
        }
        st.Blkio.IoServiceBytesRecursive = BlkioEntries(bytes);
        st.Blkio.IoServicedRecursive = BlkioEntries(ios);
    }

    /// <summary>"8:0 Read 4096" lines → entries (the trailing "Total N" line is dropped).</summary>
    internal static List<BlkioEntry>? BlkioEntries(string text)
    {
        var list = new List<BlkioEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3) continue;
            var mm = f[0].Split(':');
            if (mm.Length != 2) continue;
            list.Add(new BlkioEntry { Major = ParseOr0(mm[0]), Minor = ParseOr0(mm[1]), Op = f[1], Value = ParseOr0(f[2]) });
        }
        return list.Count == 0 ? null : list;
    }

    private void IoV2(string dir, CgroupStats st)
    {
        var bytes = new List<BlkioEntry>(); var ios = new List<BlkioEntry>();
        foreach (var line in Read(dir, "io.stat").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var mm = f[0].Split(':');
            if (mm.Length != 2) continue;
            ulong maj = ParseOr0(mm[0]), min = ParseOr0(mm[1]);
            foreach (var kv in f.Skip(1))
            {
                int eq = kv.IndexOf('=');
                if (eq < 0) continue;
                ulong v = ParseOr0(kv[(eq + 1)..]);
                (List<BlkioEntry>? to, string? op) = kv[..eq] switch
                {
                    "rbytes" => (bytes, "Read"), "wbytes" => (bytes, "Write"),
                    "rios" => (ios, "Read"), "wios" => (ios, "Write"), _ => (null, null),
                };
                to?.Add(new BlkioEntry { Major = maj, Minor = min, Op = op, Value = v });
            }
        }
        st.Blkio.IoServiceBytesRecursive = bytes.Count == 0 ? null : bytes;
        st.Blkio.IoServicedRecursive = ios.Count == 0 ? null : ios;
    }

    private void HugetlbStat(string dir, bool v1, CgroupStats st)
    {
        foreach (var size in HugePageSizes(dir, v1))
        {
            if (v1)
                st.Hugetlb[size] = new HugetlbStats
                {
                    Usage = ParseOr0(Read(dir, $"hugetlb.{size}.usage_in_bytes")),
                    Max = ParseOr0(Read(dir, $"hugetlb.{size}.max_usage_in_bytes")),
                    Failcnt = ParseOr0(Read(dir, $"hugetlb.{size}.failcnt")),
                };
            else
                st.Hugetlb[size] = new HugetlbStats
                {
                    Usage = ParseOr0(Read(dir, $"hugetlb.{size}.current")),
                    Failcnt = KeyValues(Read(dir, $"hugetlb.{size}.events")).GetValueOrDefault("max"),
                };
        }
    }

    // Page sizes from the control files themselves (hugetlb.2MB.max / hugetlb.2MB.limit_in_bytes).
    private IEnumerable<string> HugePageSizes(string dir, bool v1)
    {
        string suffix = v1 ? ".limit_in_bytes" : ".max";
        IEnumerable<string> files;
        try { files = Directory.EnumerateFiles(dir, "hugetlb.*" + suffix).Select(Path.GetFileName)!; }
        catch (IOException) { yield break; }
        foreach (var f in files.Order(StringComparer.Ordinal))
        {
            string mid = f![8..^suffix.Length];
            if (!mid.Contains('.')) yield return mid;
        }
    }

    public ulong OomKillCount()
    {
        if (V1Dir("memory") is { } dir) return KeyValues(Read(dir, "memory.oom_control")).GetValueOrDefault("oom_kill");
        if (V2Has("memory")) return KeyValues(Read(_v2!, "memory.events")).GetValueOrDefault("oom_kill");
        return 0;
    }
}
