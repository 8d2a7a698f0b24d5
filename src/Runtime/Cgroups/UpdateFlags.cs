using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Runcs.Spec;

namespace Runcs.Cgroups;

/// <summary>
/// `runcs update`: runc's flags (or its --resources JSON) turned into the resources to write (the
/// delta) and the container's new stored resources (current overlaid with the delta). As in runc, a
/// zero value means "leave as is" for the numeric limits, and setting only one of cpu quota/period
/// keeps the other at its stored value.
/// </summary>
public static class UpdateFlags
{
    /// <summary>The flags `runcs update` accepts (runc 1.1 names; cpu-shares is accepted as an alias of cpu-share).</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "blkio-weight", "cpu-period", "cpu-quota", "cpu-burst", "cpu-share", "cpu-shares", "cpu-rt-period", "cpu-rt-runtime",
        "cpuset-cpus", "cpuset-mems", "kernel-memory", "kernel-memory-tcp", "memory", "memory-reservation", "memory-swap",
        "pids-limit", "l3-cache-schema", "mem-bw-schema",
    ];

    /// <summary>Only what the flags set. Keys may carry leading dashes.</summary>
    public static Resources Parse(IReadOnlyDictionary<string, string> flags)
    {
        var r = new Resources();
        foreach (var (rawKey, val) in flags)
        {
            string key = rawKey.TrimStart('-');
            switch (key)
            {
                case "blkio-weight":
                    ushort w = ParseNum<ushort>(key, val);
                    if (w != 0 && (w < 10 || w > 1000)) throw new RuncsException($"invalid value for blkio-weight: {val} (valid range is 10-1000)");
                    (r.BlockIO ??= new()).Weight = w;
                    break;
                case "cpuset-cpus": if (val.Length > 0) (r.Cpu ??= new()).Cpus = val; break;
                case "cpuset-mems": if (val.Length > 0) (r.Cpu ??= new()).Mems = val; break;
                case "cpu-period": (r.Cpu ??= new()).Period = ParseNum<ulong>(key, val); break;
                case "cpu-rt-period": (r.Cpu ??= new()).RealtimePeriod = ParseNum<ulong>(key, val); break;
                case "cpu-share" or "cpu-shares": (r.Cpu ??= new()).Shares = ParseNum<ulong>(key, val); break;
                case "cpu-burst": (r.Cpu ??= new()).Burst = ParseNum<ulong>(key, val); break;
                case "cpu-quota": (r.Cpu ??= new()).Quota = ParseNum<long>(key, val); break;
                case "cpu-rt-runtime": (r.Cpu ??= new()).RealtimeRuntime = ParseNum<long>(key, val); break;
                case "memory": (r.Memory ??= new()).Limit = Size(key, val); break;
                case "memory-swap": (r.Memory ??= new()).Swap = Size(key, val); break;
                case "memory-reservation": (r.Memory ??= new()).Reservation = Size(key, val); break;
                case "kernel-memory": (r.Memory ??= new()).Kernel = Size(key, val); break;
                case "kernel-memory-tcp": (r.Memory ??= new()).KernelTCP = Size(key, val); break;
                case "pids-limit": r.Pids = new PidsResources { Limit = ParseNum<long>(key, val) }; break;
                case "l3-cache-schema" or "mem-bw-schema":
                    throw new RuncsException($"--{key}: Intel RDT is not supported by runcs");
                default:
                    throw new RuncsException($"unknown update flag --{key}");
            }
        }
        // Unlimited memory with swap not given: unlimited swap too (else v2 refuses the swap value).
        if (r.Memory is { Limit: -1, Swap: null }) r.Memory.Swap = -1;
        return r;
    }

    /// <summary>runc update's semantics as a pure function: returns (what to write, what to store).</summary>
    public static (Resources Delta, Resources Merged) Apply(IReadOnlyDictionary<string, string> flags, Resources current)
    {
        var delta = Parse(flags);
        return (delta, Merge(current, delta));
    }

    /// <summary>`--resources`: the JSON is a LinuxResources object; absent members leave things as they are.</summary>
    public static Resources ParseResourcesJson(string json)
    {
        try
        {
            var r = JsonSerializer.Deserialize(json, CgroupsJson.Default.Resources)
                ?? throw new RuncsException("invalid --resources: null");
            if (r.Memory is { Limit: -1, Swap: null }) r.Memory.Swap = -1;
            return r;
        }
        catch (JsonException e) { throw new RuncsException($"invalid --resources JSON: {e.Message}"); }
    }

    /// <summary>Overlay: every member the delta sets (non-null; for runc's "0 = unset" numbers, non-zero) replaces current's.</summary>
    public static Resources Merge(Resources current, Resources delta)
    {
        // Round-trip through JSON for a deep copy without reflection.
        var m = JsonSerializer.Deserialize(JsonSerializer.Serialize(current, CgroupsJson.Default.Resources), CgroupsJson.Default.Resources)!;
        if (delta.Memory is { } dm)
        {
            var mm = m.Memory ??= new();
            if (dm.Limit is not (null or 0)) mm.Limit = dm.Limit;
            if (dm.Swap is not (null or 0)) mm.Swap = dm.Swap;
            if (dm.Reservation is not (null or 0)) mm.Reservation = dm.Reservation;
            if (dm.Kernel is not (null or 0)) mm.Kernel = dm.Kernel;
            if (dm.KernelTCP is not (null or 0)) mm.KernelTCP = dm.KernelTCP;
            if (dm.Swappiness is not null) mm.Swappiness = dm.Swappiness;
            if (dm.DisableOOMKiller is not null) mm.DisableOOMKiller = dm.DisableOOMKiller;
            if (dm.UseHierarchy is not null) mm.UseHierarchy = dm.UseHierarchy;
            if (dm.CheckBeforeUpdate is not null) mm.CheckBeforeUpdate = dm.CheckBeforeUpdate;
        }
        if (delta.Cpu is { } dc)
        {
            var mc = m.Cpu ??= new();
            if (dc.Shares is not (null or 0)) mc.Shares = dc.Shares;
            if (dc.Quota is not (null or 0)) mc.Quota = dc.Quota;
            if (dc.Period is not (null or 0)) mc.Period = dc.Period;
            if (dc.Burst is not null) mc.Burst = dc.Burst;
            if (dc.RealtimeRuntime is not (null or 0)) mc.RealtimeRuntime = dc.RealtimeRuntime;
            if (dc.RealtimePeriod is not (null or 0)) mc.RealtimePeriod = dc.RealtimePeriod;
            if (!string.IsNullOrEmpty(dc.Cpus)) mc.Cpus = dc.Cpus;
            if (!string.IsNullOrEmpty(dc.Mems)) mc.Mems = dc.Mems;
            if (dc.Idle is not null) mc.Idle = dc.Idle;
        }
        if (delta.Pids is { Limit: not 0 } dp) m.Pids = new PidsResources { Limit = dp.Limit };
        if (delta.BlockIO is { } db)
        {
            var mb = m.BlockIO ??= new();
            if (db.Weight is not (null or 0)) mb.Weight = db.Weight;
            if (db.LeafWeight is not (null or 0)) mb.LeafWeight = db.LeafWeight;
            if (db.WeightDevice is not null) mb.WeightDevice = db.WeightDevice;
            if (db.ThrottleReadBpsDevice is not null) mb.ThrottleReadBpsDevice = db.ThrottleReadBpsDevice;
            if (db.ThrottleWriteBpsDevice is not null) mb.ThrottleWriteBpsDevice = db.ThrottleWriteBpsDevice;
            if (db.ThrottleReadIOPSDevice is not null) mb.ThrottleReadIOPSDevice = db.ThrottleReadIOPSDevice;
            if (db.ThrottleWriteIOPSDevice is not null) mb.ThrottleWriteIOPSDevice = db.ThrottleWriteIOPSDevice;
        }
        if (delta.HugepageLimits is not null) m.HugepageLimits = delta.HugepageLimits;
        if (delta.Network is not null) m.Network = delta.Network;
        if (delta.Rdma is not null) m.Rdma = delta.Rdma;
        if (delta.Devices is not null) m.Devices = delta.Devices;
        if (delta.Unified is not null)
        {
            m.Unified ??= [];
            foreach (var (k, v) in delta.Unified) m.Unified[k] = v;
        }
        return m;
    }

    private static T ParseNum<T>(string key, string val) where T : INumber<T>
    {
        if (T.TryParse(val, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)) return v;
        throw new RuncsException($"invalid value for {key}: \"{val}\"");
    }

    private static readonly Regex SizeRx = new(@"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$", RegexOptions.CultureInvariant);

    /// <summary>"-1", or a size like docker/go-units RAMInBytes: "100M", "1.5g", "512kb", "2GiB" (binary multiples).</summary>
    public static long Size(string key, string val)
    {
        if (val == "-1") return -1;
        var m = SizeRx.Match(val);
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
            throw new RuncsException($"invalid value for {key}: invalid size: '{val}'");
        double mul = m.Groups[2].Success ? char.ToLowerInvariant(m.Groups[2].Value[0]) switch
        {
            'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, 'p' => 1L << 50, _ => 1,
        } : 1;
        return (long)(n * mul);
    }
}
