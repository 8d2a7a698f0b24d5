using System.Text.Json.Nodes;
using NUnit.Framework;
using Runcs.Spec;

namespace Runcs.Tests.Foundation;

/// <summary>
/// One test per rule of <see cref="Validator"/>: a valid base config with one change must be
/// rejected by <see cref="ConfigLoader.LoadBundle"/> with exactly this JSON pointer.
/// </summary>
[TestFixture]
public class ValidatorTests : TempDirTest
{
    public static JsonObject Base() => JsonNode.Parse("""
        {
          "ociVersion": "1.3.0",
          "root": {"path": "rootfs"},
          "hostname": "h",
          "process": {"cwd": "/", "args": ["/bin/true"], "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin"]},
          "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
          "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}]}
        }
        """)!.AsObject();

    /// <summary>Sets (creating objects on the way) or, with null, removes the value at a pointer.</summary>
    public static void Set(JsonObject root, string pointer, JsonNode? value)
    {
        var parts = pointer.Split('/')[1..].Select(p => p.Replace("~1", "/").Replace("~0", "~")).ToArray();
        JsonNode cur = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var next = cur is JsonArray a ? a[int.Parse(parts[i])] : cur[parts[i]];
            if (next is null) { next = new JsonObject(); cur.AsObject()[parts[i]] = next; }
            cur = next;
        }
        var last = parts[^1];
        if (cur is JsonArray arr)
        {
            if (last == "-") arr.Add(value);
            else arr[int.Parse(last)] = value;
        }
        else if (value is null) cur.AsObject().Remove(last);
        else cur.AsObject()[last] = value;
    }

    private static JsonNode J(string json) => JsonNode.Parse(json)!;

    /// <summary>(name, change as pointer → JSON value or null to remove, expected pointer).</summary>
    public static IEnumerable<TestCaseData> Rules()
    {
        TestCaseData C(string name, string expected, params (string Ptr, string? Json)[] changes) =>
            new TestCaseData(changes, expected).SetName("Rule_" + name);

        yield return C("RootMissing", "/root/path", ("/root", null));
        yield return C("RootPathEmpty", "/root/path", ("/root/path", "\"\""));
        yield return C("RootfsDirMissing", "/root/path", ("/root/path", "\"nothere\""));
        yield return C("ProcessMissingForCreate", "/process", ("/process", null));
        yield return C("ArgsEmptyForCreate", "/process/args", ("/process/args", "[]"));
        yield return C("ArgsMissingForCreate", "/process/args", ("/process/args", null));
        yield return C("ProgramNameEmpty", "/process/args/0", ("/process/args", "[\"\", \"x\"]"));
        yield return C("CwdRelative", "/process/cwd", ("/process/cwd", "\"tmp\""));
        yield return C("CwdEmpty", "/process/cwd", ("/process/cwd", "\"\""));
        yield return C("EnvWithoutEquals", "/process/env/1", ("/process/env", "[\"A=1\", \"JUSTKEY\"]"));
        yield return C("EnvEmptyKey", "/process/env/0", ("/process/env", "[\"=v\"]"));
        yield return C("CapBoundingUnknown", "/process/capabilities/bounding/1", ("/process/capabilities", "{\"bounding\": [\"CAP_KILL\", \"CAP_FLY\"]}"));
        yield return C("CapEffectiveUnknown", "/process/capabilities/effective/0", ("/process/capabilities", "{\"effective\": [\"KILL\"]}"));
        yield return C("CapInheritableUnknown", "/process/capabilities/inheritable/0", ("/process/capabilities", "{\"inheritable\": [\"cap_kill\"]}"));
        yield return C("CapPermittedUnknown", "/process/capabilities/permitted/0", ("/process/capabilities", "{\"permitted\": [\"CAP_NOPE\"]}"));
        yield return C("CapAmbientUnknown", "/process/capabilities/ambient/0", ("/process/capabilities", "{\"ambient\": [\"CAP_NOPE\"]}"));
        yield return C("RlimitTypeUnknown", "/process/rlimits/0/type", ("/process/rlimits", "[{\"type\": \"RLIMIT_BOGUS\", \"hard\": 1, \"soft\": 1}]"));
        yield return C("RlimitDuplicate", "/process/rlimits/1/type", ("/process/rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": 1}, {\"type\": \"RLIMIT_NOFILE\", \"hard\": 2, \"soft\": 2}]"));
        yield return C("RlimitSoftAboveHard", "/process/rlimits/0/soft", ("/process/rlimits", "[{\"type\": \"RLIMIT_CORE\", \"hard\": 1, \"soft\": 2}]"));
        yield return C("OomScoreAdjTooHigh", "/process/oomScoreAdj", ("/process/oomScoreAdj", "1001"));
        yield return C("OomScoreAdjTooLow", "/process/oomScoreAdj", ("/process/oomScoreAdj", "-1001"));
        yield return C("UmaskTooLarge", "/process/user/umask", ("/process/user/umask", "512"));
        yield return C("IoPriorityClassUnknown", "/process/ioPriority/class", ("/process/ioPriority", "{\"class\": \"IOPRIO_CLASS_NONE\", \"priority\": 0}"));
        yield return C("IoPriorityOutOfRange", "/process/ioPriority/priority", ("/process/ioPriority", "{\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 8}"));
        yield return C("SchedulerPolicyUnknown", "/process/scheduler/policy", ("/process/scheduler", "{\"policy\": \"SCHED_FAST\"}"));
        yield return C("SchedulerNiceOutOfRange", "/process/scheduler/nice", ("/process/scheduler", "{\"policy\": \"SCHED_OTHER\", \"nice\": 20}"));
        yield return C("CpuAffinityInitialInvalid", "/process/execCPUAffinity/initial", ("/process/execCPUAffinity", "{\"initial\": \"0-x\"}"));
        yield return C("CpuAffinityFinalReversedRange", "/process/execCPUAffinity/final", ("/process/execCPUAffinity", "{\"final\": \"0,5-3\"}"));
        yield return C("NamespaceTypeUnknown", "/linux/namespaces/5/type", ("/linux/namespaces/-", "{\"type\": \"bogus\"}"));
        yield return C("NamespaceDuplicate", "/linux/namespaces/5/type", ("/linux/namespaces/-", "{\"type\": \"pid\"}"));
        yield return C("NamespacePathMissing", "/linux/namespaces/4/path", ("/linux/namespaces/4", "{\"type\": \"network\", \"path\": \"/nonexistent/ns/net\"}"));
        yield return C("NamespacePathWrongType", "/linux/namespaces/4/path", ("/linux/namespaces/4", "{\"type\": \"network\", \"path\": \"/proc/self/ns/uts\"}"));
        yield return C("NamespacePathNotANamespace", "/linux/namespaces/4/path", ("/linux/namespaces/4", "{\"type\": \"network\", \"path\": \"/etc/hostname\"}"));
        yield return C("UidMappingsWithoutUserNs", "/linux/uidMappings", ("/linux/uidMappings", "[{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"));
        yield return C("GidMappingsWithoutUserNs", "/linux/gidMappings", ("/linux/gidMappings", "[{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"));
        yield return C("TimeOffsetsWithoutTimeNs", "/linux/timeOffsets", ("/linux/timeOffsets", "{\"monotonic\": {\"secs\": 1}}"));
        yield return C("TimeOffsetsUnknownClock", "/linux/timeOffsets/realtime", ("/linux/namespaces/-", "{\"type\": \"time\"}"), ("/linux/timeOffsets", "{\"realtime\": {\"secs\": 1}}"));
        yield return C("HostnameWithoutUtsNs", "/hostname", ("/linux/namespaces/2", "{\"type\": \"cgroup\"}"));
        yield return C("DomainnameWithoutUtsNs", "/domainname", ("/hostname", null), ("/domainname", "\"d\""), ("/linux/namespaces/2", "{\"type\": \"cgroup\"}"));
        yield return C("MountDestinationEmpty", "/mounts/1/destination", ("/mounts/-", "{\"destination\": \"\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}"));
        yield return C("MountDestinationRelative", "/mounts/1/destination", ("/mounts/-", "{\"destination\": \"tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}"));
        yield return C("IdmappedMountHalf", "/mounts/1", ("/mounts/-", "{\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"/tmp\", \"options\": [\"bind\"], \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]}"));
        yield return C("RootfsPropagationUnknown", "/linux/rootfsPropagation", ("/linux/rootfsPropagation", "\"sideways\""));
        yield return C("DeviceTypeUnknown", "/linux/devices/0/type", ("/linux/devices", "[{\"type\": \"x\", \"path\": \"/dev/x\", \"major\": 1, \"minor\": 1}]"));
        yield return C("DevicePathRelative", "/linux/devices/0/path", ("/linux/devices", "[{\"type\": \"c\", \"path\": \"dev/x\", \"major\": 1, \"minor\": 1}]"));
        yield return C("SysctlNetWithoutNetNs", "/linux/sysctl/net.ipv4.ip_forward", ("/linux/namespaces/4", "{\"type\": \"cgroup\"}"), ("/linux/sysctl", "{\"net.ipv4.ip_forward\": \"1\"}"));
        yield return C("SysctlNetSlashFormEscaped", "/linux/sysctl/net~1ipv4~1ip_forward", ("/linux/namespaces/4", "{\"type\": \"cgroup\"}"), ("/linux/sysctl", "{\"net/ipv4/ip_forward\": \"1\"}"));
        yield return C("SysctlIpcWithoutIpcNs", "/linux/sysctl/kernel.shmmax", ("/linux/namespaces/3", "{\"type\": \"cgroup\"}"), ("/linux/sysctl", "{\"kernel.shmmax\": \"1\"}"));
        yield return C("SysctlIpcSlashFormEscaped", "/linux/sysctl/fs~1mqueue~1msg_max", ("/linux/namespaces/3", "{\"type\": \"cgroup\"}"), ("/linux/sysctl", "{\"fs/mqueue/msg_max\": \"1\"}"));
        yield return C("SysctlUtsWithoutUtsNs", "/linux/sysctl/kernel.hostname", ("/hostname", null), ("/linux/namespaces/2", "{\"type\": \"cgroup\"}"), ("/linux/sysctl", "{\"kernel.hostname\": \"x\"}"));
        yield return C("SeccompDefaultActionUnknown", "/linux/seccomp/defaultAction", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_MAYBE\"}"));
        yield return C("SeccompArchUnknown", "/linux/seccomp/architectures/1", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_Z80\"]}"));
        yield return C("SeccompFlagUnknown", "/linux/seccomp/flags/0", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FAST\"]}"));
        yield return C("SeccompSyscallActionUnknown", "/linux/seccomp/syscalls/0/action", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOPE\"}]}"));
        yield return C("SeccompSyscallNamesEmpty", "/linux/seccomp/syscalls/0/names", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}"));
        yield return C("SeccompArgOpUnknown", "/linux/seccomp/syscalls/0/args/0/op", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_APPROX\"}]}]}"));
        yield return C("SeccompArgIndexAbove5", "/linux/seccomp/syscalls/0/args/0/index", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"));
        yield return C("SeccompNotifyWithoutListener", "/linux/seccomp/listenerPath", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"));
        yield return C("SeccompNotifyAsDefault", "/linux/seccomp/defaultAction", ("/linux/seccomp", "{\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/run/l.sock\"}"));
        yield return C("PersonalityDomainUnknown", "/linux/personality/domain", ("/linux/personality", "{\"domain\": \"LINUX64\"}"));
        yield return C("DeviceRuleTypeUnknown", "/linux/resources/devices/1/type", ("/linux/resources", "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"z\", \"access\": \"r\"}]}"));
        yield return C("DeviceRuleAccessInvalid", "/linux/resources/devices/0/access", ("/linux/resources", "{\"devices\": [{\"allow\": true, \"type\": \"c\", \"access\": \"rwx\"}]}"));
    }

    private string WriteBundle(JsonObject config, bool rootfs = true)
    {
        var b = Path.Combine(Tmp, "bundle");
        Directory.CreateDirectory(b);
        if (rootfs) Directory.CreateDirectory(Path.Combine(b, "rootfs"));
        File.WriteAllText(Path.Combine(b, "config.json"), config.ToJsonString());
        return b;
    }

    [Test]
    public void Base_IsValid()
    {
        var loaded = ConfigLoader.LoadBundle(WriteBundle(Base()), forCreate: true);
        Assert.That(loaded.Config.Process!.Args, Is.EqualTo(new[] { "/bin/true" }));
    }

    [TestCaseSource(nameof(Rules))]
    public void Rejected_WithPointer((string Ptr, string? Json)[] changes, string expected)
    {
        var c = Base();
        foreach (var (ptr, json) in changes) Set(c, ptr, json is null ? null : J(json));
        var b = WriteBundle(c);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadBundle(b, forCreate: true), c.ToJsonString());
        Assert.That(e!.Pointer, Is.EqualTo(expected), e.Message);
        Assert.That(e.Message, Does.StartWith($"invalid config: {expected}: "));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void NotForCreate_ArgsAndProcessMayBeMissing()
    {
        var c = Base();
        Set(c, "/process", null);
        Assert.DoesNotThrow(() => ConfigLoader.LoadBundle(WriteBundle(c), forCreate: false));
    }

    [Test]
    public void CommandLineInsteadOfArgs_IsAccepted()
    {
        var c = Base();
        Set(c, "/process/args", null);
        Set(c, "/process/commandLine", J("\"cmd /c echo\""));
        Assert.DoesNotThrow(() => ConfigLoader.LoadBundle(WriteBundle(c), forCreate: true));
    }

    [Test]
    public void RelativeRootOutsideBundle_IsFine()
    {
        var c = Base();
        Directory.CreateDirectory(Path.Combine(Tmp, "outside"));
        Set(c, "/root/path", J("\"../outside\""));
        var loaded = ConfigLoader.LoadBundle(WriteBundle(c, rootfs: false), forCreate: true);
        Assert.That(loaded.Rootfs, Is.EqualTo(Path.Combine(Tmp, "outside")));
    }

    [Test]
    public void AbsoluteRoot_IsTakenAsIs()
    {
        var c = Base();
        var abs = Path.Combine(Tmp, "abs-rootfs");
        Directory.CreateDirectory(abs);
        Set(c, "/root/path", abs);
        Assert.That(ConfigLoader.LoadBundle(WriteBundle(c, rootfs: false), forCreate: true).Rootfs, Is.EqualTo(abs));
    }

    [Test]
    public void NamespacePathOfRightType_IsAccepted()
    {
        var c = Base();
        Set(c, "/linux/namespaces/4", J("{\"type\": \"network\", \"path\": \"/proc/self/ns/net\"}"));
        Assert.DoesNotThrow(() => ConfigLoader.LoadBundle(WriteBundle(c), forCreate: true));
    }

    [Test]
    public void MappingsWithUserNs_AndUnknownFieldsAndAnnotations_AreAccepted()
    {
        var c = Base();
        Set(c, "/linux/namespaces/-", J("{\"type\": \"user\"}"));
        Set(c, "/linux/uidMappings", J("[{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"));
        Set(c, "/linux/gidMappings", J("[{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"));
        Set(c, "/annotations", J("{\"org.example/x\": \"y\"}"));
        Set(c, "/someFutureField", J("{\"a\": 1}"));
        Set(c, "/process/someFutureField", J("true"));
        Assert.DoesNotThrow(() => ConfigLoader.LoadBundle(WriteBundle(c), forCreate: true));
    }

    [Test]
    public void MissingBundleOrConfig_AreClearErrors()
    {
        var e1 = Assert.Throws<RuncsException>(() => ConfigLoader.LoadBundle(Path.Combine(Tmp, "none"), forCreate: true));
        Assert.That(e1!.Message, Does.Contain("does not exist"));
        Directory.CreateDirectory(Path.Combine(Tmp, "empty"));
        var e2 = Assert.Throws<RuncsException>(() => ConfigLoader.LoadBundle(Path.Combine(Tmp, "empty"), forCreate: true));
        Assert.That(e2!.Message, Does.Contain("has no config.json"));
    }

    [Test]
    public void InvalidJson_PointerIsRoot_AndMessageNamesLine()
    {
        var b = Path.Combine(Tmp, "b");
        Directory.CreateDirectory(Path.Combine(b, "rootfs"));
        File.WriteAllText(Path.Combine(b, "config.json"), "{\n  \"ociVersion\": \"1.3.0\",\n  oops\n}");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadBundle(b, forCreate: true));
        Assert.That(e!.Pointer, Is.EqualTo(""));
        Assert.That(e.Message, Does.Contain("not valid JSON").And.Contain("line 3"));
    }
}
