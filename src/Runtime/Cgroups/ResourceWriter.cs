using System.Text.RegularExpressions;
using Runcs.Spec;

namespace Runcs.Cgroups;

// Resource writes. Each resource goes to v1 when its controller is mounted as v1, else to the
// cgroup2 directory when that owns the controller (hybrid: only the unified mount's controllers),
// else it is an error — but only when the config actually sets it. Zero means "not set" for the
// fields runc treats that way (shares, quota, period, weights, memory limits), as in runc.
internal sealed partial class CgroupManager
{
    public void Set(Resources? resources) => Write(resources ?? new Resources(), update: false);

    public void Update(Resources resources) => Write(resources, update: true);

    private void Write(Resources r, bool update)
    {
        _v2Controllers = null;
        SetCpuset(r.Cpu);
        SetDevices(r.Devices, update);
        SetMemory(r.Memory, update);
        SetCpu(r.Cpu, update);
        SetPids(r.Pids);
        SetBlockIO(r.BlockIO);
        SetHugepages(r.HugepageLimits);
        SetNetwork(r.Network);
        SetRdma(r.Rdma);
        SetUnified(r.Unified);
    }

    // ---------------------------------------------------------------- cpuset

    private void SetCpuset(CpuResources? c)
    {
        if (c is null || (string.IsNullOrEmpty(c.Cpus) && string.IsNullOrEmpty(c.Mems))) return;
        string dir = V1Dir("cpuset") ?? (V2Has("cpuset") ? _v2! : throw Missing("cpu.cpus/cpu.mems", "cpuset"));
        if (!string.IsNullOrEmpty(c.Cpus)) W(dir, "cpuset.cpus", c.Cpus);
        if (!string.IsNullOrEmpty(c.Mems)) W(dir, "cpuset.mems", c.Mems);
    }

    // ---------------------------------------------------------------- memory

    private void SetMemory(MemoryResources? m, bool update)
    {
        if (m is null || !IsMemorySet(m)) return;
        if (V1Dir("memory") is { } dir) SetMemoryV1(dir, m);
        else if (V2Has("memory")) SetMemoryV2(_v2!, m, update);
        else throw Missing("memory limits", "memory");
    }

    private static bool IsMemorySet(MemoryResources m) =>
        m.Limit is not (null or 0) || m.Reservation is not (null or 0) || m.Swap is not (null or 0) ||
        m.Kernel is not (null or 0) || m.KernelTCP is not (null or 0) || m.Swappiness is not null ||
        m.DisableOOMKiller == true || m.UseHierarchy is not null;

    private void SetMemoryV1(string dir, MemoryResources m)
    {
        long limit = m.Limit ?? 0, swap = m.Swap ?? 0;
        // Unlimited memory with swap not given means unlimited memory+swap (runc).
        if (limit == -1 && swap == 0) swap = -1;
        bool memsw = Has(dir, "memory.memsw.limit_in_bytes");
        if (swap != 0 && !memsw)
        {
            if (swap != -1)
                throw new RuncsException("cannot set memory.swap: swap accounting is not enabled on this host (memory.memsw.limit_in_bytes is missing)");
            Debug("swap accounting disabled; unlimited swap needs no write");
            swap = 0;
        }
        bool done = false;
        if (limit != 0 && swap != 0)
        {
            // memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every step: when the
            // new memsw is above the current limit, raise memsw first; otherwise lower the limit first.
            ulong cur = ParseULong(_fs.TryRead(Path.Combine(dir, "memory.limit_in_bytes")));
            if (swap == -1 || cur < (ulong)swap)
            {
                W(dir, "memory.memsw.limit_in_bytes", S(swap));
                WriteMemLimitV1(dir, limit);
                done = true;
            }
        }
        if (!done)
        {
            if (limit != 0) WriteMemLimitV1(dir, limit);
            if (swap != 0) W(dir, "memory.memsw.limit_in_bytes", S(swap));
        }
        if (m.Reservation is { } res and not 0) W(dir, "memory.soft_limit_in_bytes", S(res));
        if (m.Kernel is { } k and not 0) WriteOptional(dir, "memory.kmem.limit_in_bytes", S(k), "memory.kernel");
        if (m.KernelTCP is { } kt and not 0) WriteOptional(dir, "memory.kmem.tcp.limit_in_bytes", S(kt), "memory.kernelTCP");
        if (m.DisableOOMKiller == true) W(dir, "memory.oom_control", "1");
        if (m.Swappiness is { } sw)
        {
            if (sw > 100) throw new RuncsException($"invalid memory swappiness value: {sw} (valid range is 0-100)");
            W(dir, "memory.swappiness", S(sw));
        }
        if (m.UseHierarchy is { } uh)
        {
            try { W(dir, "memory.use_hierarchy", uh ? "1" : "0"); }
            catch (CgroupIoException e) { Debug($"memory.useHierarchy not applied (the kernel decides): {e.Message}"); }
        }
    }

    private void WriteMemLimitV1(string dir, long limit)
    {
        try { W(dir, "memory.limit_in_bytes", S(limit)); }
        catch (CgroupIoException e) when (e.Errno == CgroupFs.EBUSY)
        {
            string usage = (_fs.TryRead(Path.Combine(dir, "memory.usage_in_bytes")) ?? "?").Trim();
            string peak = (_fs.TryRead(Path.Combine(dir, "memory.max_usage_in_bytes")) ?? "?").Trim();
            throw new RuncsException($"unable to set memory limit to {limit} (current usage: {usage}, peak usage: {peak})", e);
        }
    }

    // Kernel memory limits are gone or refused on recent kernels; runc ignores them. Write when the
    // kernel has the file and accepts it, otherwise note and go on.
    private void WriteOptional(string dir, string file, string value, string what)
    {
        if (!Has(dir, file)) { Debug($"{what} ignored: {file} does not exist on this kernel"); return; }
        try { W(dir, file, value); }
        catch (CgroupIoException e) when (e.Errno is CgroupFs.EOPNOTSUPP or CgroupFs.ENOTSUP or CgroupFs.EINVAL)
        {
            Debug($"{what} ignored: the kernel refuses {file}: {e.Message}");
        }
    }

    private void SetMemoryV2(string dir, MemoryResources m, bool update)
    {
        long limit = m.Limit ?? 0, swap = m.Swap ?? 0;
        long swapMax = V2Convert.SwapMax(swap, limit);
        string? swapStr = swapMax switch { -1 => "max", 0 => swap > 0 ? "0" : null, _ => S(swapMax) };
        if (m.CheckBeforeUpdate == true && update && limit > 0)
        {
            ulong cur = ParseULong(_fs.TryRead(Path.Combine(dir, "memory.current")));
            if (cur > (ulong)limit)
                throw new RuncsException($"rejecting memory limit {limit} below the current usage {cur} (checkBeforeUpdate)");
        }
        if (swapStr is not null)
        {
            try { W(dir, "memory.swap.max", swapStr); }
            catch (CgroupIoException e) when (e.Errno == CgroupFs.ENOENT && swapStr is "max" or "0")
            {
                Debug("memory.swap.max missing (swap not enabled); unlimited/zero swap needs no write");
            }
        }
        if (limit != 0) W(dir, "memory.max", limit == -1 ? "max" : S(limit));
        if (m.Reservation is { } res and not 0) W(dir, "memory.low", res == -1 ? "max" : S(res));
        if (m.Kernel is not (null or 0)) Debug("memory.kernel ignored: cgroup v2 has no kernel memory limit");
        if (m.KernelTCP is not (null or 0)) Debug("memory.kernelTCP ignored: cgroup v2 has no kernel TCP memory limit");
        if (m.Swappiness is { } sw)
        {
            if (sw > 100) throw new RuncsException($"invalid memory swappiness value: {sw} (valid range is 0-100)");
            Debug("memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness");
        }
        if (m.DisableOOMKiller == true) Debug("memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer");
        if (m.UseHierarchy is not null) Debug("memory.useHierarchy ignored: cgroup v2 is always hierarchical");
    }

    // ---------------------------------------------------------------- cpu

    private static bool IsCpuSet(CpuResources c) =>
        c.Shares is not (null or 0) || c.Quota is not (null or 0) || c.Period is not (null or 0) || c.Burst is not null ||
        c.RealtimeRuntime is not (null or 0) || c.RealtimePeriod is not (null or 0) || c.Idle is not null;

    private void SetCpu(CpuResources? c, bool update)
    {
        if (c is null || !IsCpuSet(c)) return;
        if (V1Dir("cpu") is { } dir) SetCpuV1(dir, c);
        else if (V2Has("cpu")) SetCpuV2(_v2!, c, update);
        else throw Missing("cpu shares/quota/period", "cpu");
    }

    private void SetV1RealTime(string dir, CpuResources c)
    {
        if (c.RealtimePeriod is { } p and not 0) W(dir, "cpu.rt_period_us", S(p));
        if (c.RealtimeRuntime is { } r and not 0) W(dir, "cpu.rt_runtime_us", S(r));
    }

    private void SetCpuV1(string dir, CpuResources c)
    {
        SetV1RealTime(dir, c);
        if (c.Shares is { } shares and not 0)
        {
            W(dir, "cpu.shares", S(shares));
            ulong got = ParseULong(_fs.TryRead(Path.Combine(dir, "cpu.shares")));
            if (got != 0 && shares > got) throw new RuncsException($"the maximum allowed cpu-shares is {got}");
            if (got != 0 && shares < got) throw new RuncsException($"the minimum allowed cpu-shares is {got}");
        }
        bool periodPending = false;
        if (c.Period is { } period and not 0)
        {
            // A shorter period can be refused while the old quota/new period exceeds the parent's
            // budget; when a quota is coming too, retry the period after it.
            try { W(dir, "cpu.cfs_period_us", S(period)); }
            catch (CgroupIoException e) when (e.Errno == CgroupFs.EINVAL && c.Quota is not (null or 0)) { periodPending = true; }
        }
        if (c.Quota is { } quota and not 0)
        {
            W(dir, "cpu.cfs_quota_us", S(quota));
            if (periodPending) W(dir, "cpu.cfs_period_us", S(c.Period!.Value));
        }
        if (c.Burst is { } burst) W(dir, "cpu.cfs_burst_us", S(burst));
        if (c.Idle is { } idle) W(dir, "cpu.idle", S(idle));
    }

    private void SetCpuV2(string dir, CpuResources c, bool update)
    {
        if (c.RealtimeRuntime is not (null or 0) || c.RealtimePeriod is not (null or 0))
            throw new RuncsException("cannot set cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time group scheduling");
        if (c.Shares is { } shares and not 0) W(dir, "cpu.weight", S(V2Convert.SharesToWeight(shares)));
        if (c.Idle is { } idle) W(dir, "cpu.idle", S(idle));
        long quota = c.Quota ?? 0;
        ulong period = c.Period ?? 0;
        if (quota != 0 || period != 0)
        {
            // cpu.max is "quota period"; on update with only the period, keep the current quota.
            string q;
            if (quota > 0) q = S(quota);
            else if (quota == 0 && update) q = (_fs.TryRead(Path.Combine(dir, "cpu.max")) ?? "max").Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "max";
            else q = "max";
            W(dir, "cpu.max", period != 0 ? q + " " + S(period) : q);
        }
        if (c.Burst is { } burst) W(dir, "cpu.max.burst", S(burst));
    }

    // ---------------------------------------------------------------- pids

    private void SetPids(PidsResources? p)
    {
        if (p is null) return;
        string dir = V1Dir("pids") ?? (V2Has("pids") ? _v2! : throw Missing("pids.limit", "pids"));
        W(dir, "pids.max", p.Limit > 0 ? S(p.Limit) : "max");
    }

    // ---------------------------------------------------------------- block IO

    private static bool IsBlkioSet(BlockIO b) =>
        b.Weight is not (null or 0) || b.LeafWeight is not (null or 0) || b.WeightDevice is { Count: > 0 } ||
        b.ThrottleReadBpsDevice is { Count: > 0 } || b.ThrottleWriteBpsDevice is { Count: > 0 } ||
        b.ThrottleReadIOPSDevice is { Count: > 0 } || b.ThrottleWriteIOPSDevice is { Count: > 0 };

    private void SetBlockIO(BlockIO? b)
    {
        if (b is null || !IsBlkioSet(b)) return;
        if (V1Dir("blkio") is { } dir) SetBlkioV1(dir, b);
        else if (V2Has("io")) SetIoV2(_v2!, b);
        else throw Missing("blockIO", "blkio/io");
    }

    private void SetBlkioV1(string dir, BlockIO b)
    {
        bool cfq = Has(dir, "blkio.weight");
        string weightFile = cfq ? "blkio.weight" : "blkio.bfq.weight";
        string weightDevFile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
        bool anyWeight = b.Weight is not (null or 0) || (b.WeightDevice?.Any(w => w.Weight is not (null or 0)) ?? false);
        if (anyWeight && !Has(dir, weightFile))
            throw new RuncsException("cannot set blockIO weight: neither blkio.weight nor blkio.bfq.weight exists (no IO scheduler with weights on this host)");
        if (b.Weight is { } w and not 0) W(dir, weightFile, S(w));
        if (b.LeafWeight is { } lw and not 0) W(dir, "blkio.leaf_weight", S(lw));
        foreach (var wd in b.WeightDevice ?? [])
        {
            if (wd.Weight is { } dw and not 0) W(dir, weightDevFile, $"{wd.Major}:{wd.Minor} {dw}");
            if (wd.LeafWeight is { } dlw and not 0) W(dir, "blkio.leaf_weight_device", $"{wd.Major}:{wd.Minor} {dlw}");
        }
        foreach (var t in b.ThrottleReadBpsDevice ?? []) W(dir, "blkio.throttle.read_bps_device", $"{t.Major}:{t.Minor} {t.Rate}");
        foreach (var t in b.ThrottleWriteBpsDevice ?? []) W(dir, "blkio.throttle.write_bps_device", $"{t.Major}:{t.Minor} {t.Rate}");
        foreach (var t in b.ThrottleReadIOPSDevice ?? []) W(dir, "blkio.throttle.read_iops_device", $"{t.Major}:{t.Minor} {t.Rate}");
        foreach (var t in b.ThrottleWriteIOPSDevice ?? []) W(dir, "blkio.throttle.write_iops_device", $"{t.Major}:{t.Minor} {t.Rate}");
    }

    private void SetIoV2(string dir, BlockIO b)
    {
        bool bfq = Has(dir, "io.bfq.weight");
        if (b.Weight is { } w and not 0)
        {
            if (bfq) W(dir, "io.bfq.weight", S(w));
            else W(dir, "io.weight", S(V2Convert.BlkioWeightToIoWeight(w)));
        }
        if (b.LeafWeight is not (null or 0)) Debug("blockIO.leafWeight ignored: cgroup v2 has no leaf weight");
        foreach (var wd in b.WeightDevice ?? [])
        {
            if (wd.Weight is not { } dw || dw == 0) continue;
            if (bfq) W(dir, "io.bfq.weight", $"{wd.Major}:{wd.Minor} {dw}");
            else W(dir, "io.weight", $"{wd.Major}:{wd.Minor} {V2Convert.BlkioWeightToIoWeight(dw)}");
        }
        foreach (var t in b.ThrottleReadBpsDevice ?? []) W(dir, "io.max", $"{t.Major}:{t.Minor} rbps={t.Rate}");
        foreach (var t in b.ThrottleWriteBpsDevice ?? []) W(dir, "io.max", $"{t.Major}:{t.Minor} wbps={t.Rate}");
        foreach (var t in b.ThrottleReadIOPSDevice ?? []) W(dir, "io.max", $"{t.Major}:{t.Minor} riops={t.Rate}");
        foreach (var t in b.ThrottleWriteIOPSDevice ?? []) W(dir, "io.max", $"{t.Major}:{t.Minor} wiops={t.Rate}");
    }

    // ---------------------------------------------------------------- hugetlb

    private static readonly Regex PageSizeRx = new(@"^[1-9][0-9]*(KB|MB|GB)$", RegexOptions.CultureInvariant);

    private void SetHugepages(List<HugepageLimit>? limits)
    {
        if (limits is null || limits.Count == 0) return;
        bool v1 = V1Dir("hugetlb") is not null;
        string dir = V1Dir("hugetlb") ?? (V2Has("hugetlb") ? _v2! : throw Missing("hugepageLimits", "hugetlb"));
        foreach (var l in limits)
        {
            if (!PageSizeRx.IsMatch(l.PageSize))
                throw new RuncsException($"invalid hugepageLimits pageSize \"{l.PageSize}\": expected a size like 2MB or 1GB");
            string file = v1 ? $"hugetlb.{l.PageSize}.limit_in_bytes" : $"hugetlb.{l.PageSize}.max";
            string rsvd = v1 ? $"hugetlb.{l.PageSize}.rsvd.limit_in_bytes" : $"hugetlb.{l.PageSize}.rsvd.max";
            if (!Has(dir, file)) throw new RuncsException($"hugepage size {l.PageSize} is not supported on this host (no {file})");
            W(dir, file, S(l.Limit));
            if (Has(dir, rsvd)) W(dir, rsvd, S(l.Limit));
        }
    }

    // ---------------------------------------------------------------- network (v1 only)

    private void SetNetwork(NetworkResources? n)
    {
        if (n is null) return;
        if (n.ClassID is { } id)
        {
            string dir = V1Dir("net_cls") ?? throw Missing("network.classID", "net_cls");
            W(dir, "net_cls.classid", S((ulong)id));
        }
        if (n.Priorities is { Count: > 0 } prios)
        {
            string dir = V1Dir("net_prio") ?? throw Missing("network.priorities", "net_prio");
            foreach (var p in prios) W(dir, "net_prio.ifpriomap", $"{p.Name} {p.Priority}");
        }
    }

    // ---------------------------------------------------------------- rdma

    private void SetRdma(Dictionary<string, RdmaResource>? rdma)
    {
        if (rdma is null || rdma.Count == 0) return;
        string dir = V1Dir("rdma") ?? (V2Has("rdma") ? _v2! : throw Missing("rdma", "rdma"));
        foreach (var (dev, lim) in rdma)
        {
            string line = dev;
            if (lim.HcaHandles is { } h) line += " hca_handle=" + S((ulong)h);
            if (lim.HcaObjects is { } o) line += " hca_object=" + S((ulong)o);
            if (line != dev) W(dir, "rdma.max", line);
        }
    }

    // ---------------------------------------------------------------- unified

    // On v2, every key is a file of the container's cgroup; its controller must be enabled there.
    // On hybrid, only keys of controllers the unified mount owns are accepted (hugetlb.* here), since
    // the rest are v1's; on pure v1 any key is an error.
    private void SetUnified(Dictionary<string, string>? unified)
    {
        if (unified is null || unified.Count == 0) return;
        foreach (var (key, value) in unified)
        {
            int dot = key.IndexOf('.');
            if (key.Contains('/') || key.Contains('\0') || dot <= 0 || dot == key.Length - 1)
                throw new RuncsException($"unified resource \"{key}\" must be in the form CONTROLLER.PARAMETER");
            string ctrl = key[..dot];
            if (_v2 is null)
                throw new RuncsException($"unified resource \"{key}\" can't be set: this host has only cgroup v1");
            if (ctrl == "cgroup")
            {
                if (key is not ("cgroup.max.depth" or "cgroup.max.descendants"))
                    throw new RuncsException($"unified resource \"{key}\" can't be set: only cgroup.max.depth and cgroup.max.descendants are allowed");
            }
            else if (_layout.Mode == CgroupMode.Hybrid && !_layout.UnifiedControllers.Contains(ctrl))
                throw new RuncsException($"unified resource \"{key}\" can't be set: on this hybrid host the {ctrl} controller is not on the cgroup v2 mount");
            else if (!V2Has(ctrl))
                throw new RuncsException($"unified resource \"{key}\" can't be set: controller \"{ctrl}\" not available");
            try { W(_v2, key, value); }
            catch (CgroupIoException e) when (e.Errno == CgroupFs.ENOENT)
            {
                throw new RuncsException($"unified resource \"{key}\" can't be set: no such file in {_v2}", e);
            }
        }
    }

    internal static ulong ParseULong(string? s)
    {
        s = s?.Trim();
        if (string.IsNullOrEmpty(s) || s == "max") return ulong.MaxValue;
        return ulong.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;
    }
}

/// <summary>v1 → v2 value conversions, as runc 1.1.x (Debian's runc) applies them.</summary>
public static class V2Convert
{
    /// <summary>
    /// cpu.shares [2, 262144] → cpu.weight [1, 10000], runc 1.1's linear mapping
    /// <c>1 + ((shares - 2) * 9999) / 262142</c> (shares 1024 → 39). runc 1.3.2+/1.4 switched to a
    /// quadratic curve that maps 1024 to 100; Debian's runc 1.1.x still uses the linear one.
    /// Shares outside the kernel's v1 range are clamped to it first.
    /// </summary>
    public static ulong SharesToWeight(ulong shares)
    {
        if (shares == 0) return 0;
        shares = Math.Clamp(shares, 2UL, 262144UL);
        return 1 + ((shares - 2) * 9999) / 262142;
    }

    /// <summary>blkio weight [10, 1000] → io.weight [1, 10000]: <c>1 + (weight - 10) * 9999 / 990</c>.</summary>
    public static ulong BlkioWeightToIoWeight(ushort weight)
    {
        if (weight == 0) return 0;
        ulong w = Math.Max((ulong)weight, 10UL);
        return 1 + (w - 10) * 9999 / 990;
    }

    /// <summary>
    /// The OCI swap value is the memory+swap limit (v1 memsw); v2's memory.swap.max is swap only:
    /// swap - limit. -1 stays "max"; 0 means not set; unlimited memory with unset swap is unlimited swap.
    /// </summary>
    public static long SwapMax(long swap, long limit)
    {
        if (limit == -1 && swap == 0) return -1;
        if (swap == -1 || swap == 0) return swap;
        if (limit == 0 || limit == -1) throw new RuncsException("unable to set swap limit without memory limit");
        if (limit < 0) throw new RuncsException($"invalid memory value: {limit}");
        if (swap < limit) throw new RuncsException("memory+swap limit should be >= memory limit");
        return swap - limit;
    }
}
