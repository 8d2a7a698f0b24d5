#!/usr/bin/env python3
"""Generate src/Seccomp/SyscallTables.g.cs.

Source of truth: libseccomp as shipped by Debian (package `seccomp`, tool
`scmp_sys_resolver`, library libseccomp.so.2).  The set of syscall *names* is
libseccomp's own: every name libseccomp returns when asked to resolve a number
on any of its architectures (number -> name scan through libseccomp.so.2).
Every name is then resolved for every architecture with
`scmp_sys_resolver -a ARCH NAME`:
  * n >= 0            : the kernel's number on that arch (x32 includes 0x40000000,
                        MIPS ABIs include their 4000/5000/6000 bases)
  * -101 .. -120      : socketcall(2)-multiplexed (libseccomp pseudo number); the
                        direct number, if the arch has one, comes from the
                        number -> name scan of that arch
  * -201 .. -224      : ipc(2)-multiplexed, same treatment
  * other negative    : unknown on that arch (skipped, as runc/libseccomp do)
loongarch64 is not known to libseccomp 2.5.4 (Debian bookworm); its table is
taken from the kernel's generic table (/usr/include/asm-generic/unistd.h from
Debian's linux-libc-dev) preprocessed with the defines the kernel's
arch/loongarch/include/uapi/asm/unistd.h sets (64-bit, SYS_CLONE, SYS_CLONE3).
The same procedure applied to riscv64's defines is cross-checked against
libseccomp's riscv64 table and the differences printed.

Usage: tools/seccomp/gen-syscalls.py > src/Seccomp/SyscallTables.g.cs
"""
import ctypes, subprocess, sys, re, tempfile, os

ARCHES = [  # (C# name, scmp_sys_resolver arch name)
    ("X86_64", "x86_64"), ("X86", "x86"), ("X32", "x32"), ("Arm", "arm"),
    ("Aarch64", "aarch64"), ("Riscv64", "riscv64"), ("Ppc64le", "ppc64le"),
    ("Ppc64", "ppc64"), ("Ppc", "ppc"), ("S390x", "s390x"), ("S390", "s390"),
    ("Mips", "mips"), ("Mipsel", "mipsel"), ("Mips64", "mips64"), ("Mipsel64", "mipsel64"),
    ("Mips64n32", "mips64n32"), ("Mipsel64n32", "mipsel64n32"),
]

lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
libc = ctypes.CDLL(None)
libc.free.argtypes = [ctypes.c_void_p]

def num_to_name(token, n):
    p = lib.seccomp_syscall_resolve_num_arch(token, n)
    if not p:
        return None
    s = ctypes.string_at(p).decode()
    libc.free(p)
    return s

BASES = [0, 4000, 5000, 6000, 0x40000000, 0xF0000]
names = set()
reverse = {}  # arch -> {name: number}
for _, a in ARCHES:
    tok = lib.seccomp_arch_resolve_name(a.encode())
    assert tok, a
    rev = {}
    # libseccomp's MIPS number->name lookup also answers for numbers without the ABI
    # base (4000/5000/6000); only the based numbers are what the kernel sees.
    lowest = {"mips": 4000, "mipsel": 4000, "mips64": 5000, "mipsel64": 5000, "mips64n32": 6000, "mipsel64n32": 6000}.get(a, 0)
    for base in BASES:
        if base < lowest:
            continue
        for n in range(base, base + 1200):
            s = num_to_name(tok, n)
            if s is not None:
                names.add(s)
                # the first (lowest, within the arch's own base) number wins
                rev.setdefault(s, n)
    reverse[a] = rev

def resolve(arch, name):
    out = subprocess.run(["scmp_sys_resolver", "-a", arch, name], capture_output=True, text=True, check=True).stdout.strip()
    return int(out)

names = sorted(names)
tables = {}   # arch -> list of numbers (-1 absent)
mux = {}      # arch -> list of mux codes (0 none, 100+k socketcall, 200+k ipc)
for cs, a in ARCHES:
    nums, muxes = [], []
    for name in names:
        n = resolve(a, name)
        m = 0
        if -120 <= n <= -100 or -224 <= n <= -200:
            m = -n
            # direct number on this arch if libseccomp has one; verify that it
            # maps back to the same name through scmp_sys_resolver
            d = reverse[a].get(name, -1)
            if d >= 0 and subprocess.run(["scmp_sys_resolver", "-a", a, str(d)], capture_output=True, text=True).stdout.strip() != name:
                d = -1
            n = d
        elif n < 0:
            n = -1
        nums.append(n)
        muxes.append(m)
    tables[cs] = nums
    # libseccomp only multiplexes on the arches where socket(2) itself is a
    # pseudo number (x86, ppc*, s390*, mips o32); elsewhere pseudo names such
    # as recv/send simply do not exist on the arch.
    if muxes[names.index("socket")]:
        mux[cs] = muxes

def generic_table(defines):
    src = "".join(f"#define {d} 1\n" for d in defines) + "#include <asm-generic/unistd.h>\n"
    with tempfile.NamedTemporaryFile("w", suffix=".h", delete=False) as f:
        f.write(src)
        path = f.name
    out = subprocess.run(["cpp", "-dM", "-D__BITS_PER_LONG=64", path], capture_output=True, text=True, check=True).stdout
    os.unlink(path)
    defs = {}
    for line in out.splitlines():
        m = re.match(r"#define (__NR\w+) (.+)$", line)
        if m:
            defs[m.group(1)] = m.group(2).strip()
    def ev(v, depth=0):
        v = v.strip("() ")
        if re.fullmatch(r"\d+", v):
            return int(v)
        m = re.fullmatch(r"(__NR\w+)\s*\+\s*(\d+)", v)
        if m and depth < 10:
            return ev(defs[m.group(1)], depth + 1) + int(m.group(2))
        if v in defs and depth < 10:
            return ev(defs[v], depth + 1)
        return None
    res = {}
    for k, v in defs.items():
        if k.startswith("__NR_") and k not in ("__NR_syscalls",) and not k.startswith("__NR3264"):
            n = ev(v)
            if n is not None:
                res[k[5:]] = n
    return res

rv = generic_table(["__ARCH_WANT_NEW_STAT", "__ARCH_WANT_SET_GET_RLIMIT", "__ARCH_WANT_SYS_CLONE", "__ARCH_WANT_SYS_CLONE3"])
rv["riscv_flush_icache"] = 259  # arch-private (asm/unistd.h), not in the generic file
ri = tables["Riscv64"]
diff = [(nm, rv.get(nm, -1), ri[i]) for i, nm in enumerate(names) if rv.get(nm, -1) != ri[i]]
print(f"// riscv64 cross-check (generic table vs libseccomp): {len(diff)} differences {diff[:12]}", file=sys.stderr)
la = generic_table(["__ARCH_WANT_SYS_CLONE", "__ARCH_WANT_SYS_CLONE3"])
extra = sorted(set(la) - set(names))
if extra:
    print(f"loongarch64 names unknown to libseccomp (dropped): {extra}", file=sys.stderr)
# Since Linux 5.1 new syscalls get the same number on every asm-generic arch;
# the 6.1 headers predate a few that libseccomp already knows (cachestat,
# fchmodat2, map_shadow_stack, futex_wake/wait/requeue): take those from
# libseccomp's riscv64 (also asm-generic) when >= 451, the first number the
# 6.1 generic table does not allocate.
for i, nm in enumerate(names):
    if nm not in la and ri[i] >= 451:
        la[nm] = ri[i]
tables["Loongarch64"] = [la.get(nm, -1) for nm in names]

ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libseccomp2"], capture_output=True, text=True).stdout
kver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "linux-libc-dev"], capture_output=True, text=True).stdout
w = sys.stdout.write
w("// <auto-generated>\n")
w(f"// Generated by tools/seccomp/gen-syscalls.py from Debian libseccomp2 {ver} (scmp_sys_resolver)\n")
w(f"// and, for loongarch64, Debian linux-libc-dev {kver} asm-generic/unistd.h. Do not edit.\n")
w("// </auto-generated>\n")
w("namespace Runcs.Seccomp;\n\ninternal static partial class SyscallTables\n{\n")
w(f"    internal const int NameCount = {len(names)};\n\n")
w("    /// <summary>Every syscall name libseccomp knows, sorted ordinally.</summary>\n")
w("    internal static readonly string[] Names =\n    [\n")
for i in range(0, len(names), 6):
    w("        " + " ".join(f'"{n}",' for n in names[i:i+6]) + "\n")
w("    ];\n\n")
for cs, nums in tables.items():
    w(f"    /// <summary>Number per <see cref=\"Names\"/> entry on {cs}; -1 = not on this arch.</summary>\n")
    w(f"    internal static ReadOnlySpan<int> {cs} =>\n    [\n")
    for i in range(0, len(nums), 16):
        w("        " + " ".join(f"{n}," for n in nums[i:i+16]) + "\n")
    w("    ];\n\n")
for cs, ms in mux.items():
    w(f"    /// <summary>{cs}: 100+k = socketcall(2) sub-call k, 200+k = ipc(2) sub-call k, 0 = not multiplexed.</summary>\n")
    w(f"    internal static ReadOnlySpan<short> {cs}Mux =>\n    [\n")
    for i in range(0, len(ms), 16):
        w("        " + " ".join(f"{n}," for n in ms[i:i+16]) + "\n")
    w("    ];\n\n")
w("}\n")
