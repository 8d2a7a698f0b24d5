#!/usr/bin/env bash
# `make bench`: runcs, runc and crun side by side on one busybox bundle, interleaved.
# Prints a table and writes bench/results.md, bench/results.svg and bench/results-raw.tsv.
#
# Method:
#  - all three runtimes run inside the same wrapper: a private mount + pid namespace
#    (`unshare -m -p -f --mount-proc`). On a hybrid cgroup host the cgroup2 mount at
#    /sys/fs/cgroup/unified is replaced there by an empty private tmpfs (crun refuses hybrid
#    hosts). The wrapper's shell is pid 1 of its pid namespace, so it reaps the containers' init
#    processes, and everything left is killed by the kernel when it exits.
#  - rounds are interleaved: every round runs each runtime once, in rotated order; the reported
#    figure is the median over rounds, and ratios are computed only between numbers of one run.
#  - timing uses bash's $EPOCHREALTIME around the runtime's command (fork+exec of the runtime
#    included, identical for all three).
#  - the container process is /bin/true (exits at once after start): create, start, wait for the
#    init pid to exit (untimed), delete — what containerd pays for a short-lived container.
#
# Knobs (environment): RUNS (30, run/exec/startup rounds), LIFE_RUNS (20, create/start/delete
# rounds), TP_N (100 containers per throughput batch), TP_REPS (3), RSS_RUNS (5), CFG_RUNS (10),
# RUNCS (bin/runcs), RUNC (runc), CRUN (crun), RUNCS_TEST_ROOTFS (.cache/rootfs),
# SECCOMP_CONFIG (a config.json carrying Docker's default seccomp profile), BENCH_OUT (bench/).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$repo/bench/run.sh"

# ---------------------------------------------------------------------------------------------
# Outer part: checks, work directory, the namespace wrapper, final cleanup.
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" != "--inner" ]; then
  die() { echo "bench: $*" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || die "must run as root (containers need it)"
  RUNCS=${RUNCS:-$repo/bin/runcs}
  RUNC=${RUNC:-$(command -v runc || true)}
  CRUN=${CRUN:-$(command -v crun || true)}
  ROOTFS=${RUNCS_TEST_ROOTFS:-$repo/.cache/rootfs}
  [ -x "$RUNCS" ] || die "$RUNCS is missing: run 'make build'"
  [ -n "$RUNC" ] && [ -x "$RUNC" ] || die "runc is missing: apt-get install -y runc"
  [ -n "$CRUN" ] && [ -x "$CRUN" ] || die "crun is missing: apt-get install -y crun"
  [ -x "$ROOTFS/bin/busybox" ] || die "$ROOTFS is missing: run 'make rootfs'"
  command -v unshare >/dev/null || die "unshare (util-linux) is missing"
  [ -x /usr/bin/time ] || echo "bench: /usr/bin/time is missing (apt-get install -y time): peak RSS will be skipped" >&2
  [ "${BASH_VERSINFO[0]}" -ge 5 ] || die "bash 5 is needed (\$EPOCHREALTIME)"
  export RUNCS RUNC CRUN
  work=$(mktemp -d "${TMPDIR:-/tmp}/runcs-bench.XXXXXX")
  export BENCH_WORK=$work BENCH_TAG="runcs-bench-$$"
  cleanup_outer() {
    # The pid namespace is gone (the kernel killed whatever was left in it); remove cgroup
    # directories the runtimes left (runtimes remove the leaf, not our parent directory).
    local d
    for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -name "$BENCH_TAG" -prune 2>/dev/null); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$work"
  }
  trap cleanup_outer EXIT
  trap 'exit 130' INT TERM
  unshare -m -p -f --mount-proc --propagation private "$self" --inner
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# Inner part: pid 1 of a private pid + mount namespace.
# ---------------------------------------------------------------------------------------------
work=$BENCH_WORK
tag=$BENCH_TAG
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
RUNS=${RUNS:-30}
LIFE_RUNS=${LIFE_RUNS:-20}
TP_N=${TP_N:-100}
TP_REPS=${TP_REPS:-3}
RSS_RUNS=${RSS_RUNS:-5}
CFG_RUNS=${CFG_RUNS:-10}
OUT=${BENCH_OUT:-$repo/bench}
ROOTFS_SRC=${RUNCS_TEST_ROOTFS:-$repo/.cache/rootfs}
SECCOMP_CONFIG=${SECCOMP_CONFIG:-}
if [ -z "$SECCOMP_CONFIG" ]; then
  for f in "$repo/bench/seccomp/docker-run.json" "$repo/bench/seccomp/docker-default.json" \
           /work/shared/real-world-configs/docker-run.json; do
    [ -f "$f" ] && { SECCOMP_CONFIG=$f; break; }
  done
fi

names=(runcs runc crun)
declare -A bin=([runcs]=$RUNCS [runc]=$RUNC [crun]=$CRUN)
samples=$work/samples.tsv
: > "$samples"
exec {sleepfd}<> <(:)                     # `read -t` on this never returns data: a builtin sleep
nap() { read -r -t "$1" -u "$sleepfd" _ || true; }
log() { printf '%s\n' "$*" >&2; }

# Hide the cgroup2 mount of a hybrid host (crun refuses it); a private tmpfs takes its place
# so nothing a runtime writes there reaches the host's tmpfs.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] && \
   [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  umount /sys/fs/cgroup/unified && mount -t tmpfs -o size=256m bench-hidden /sys/fs/cgroup/unified
  cgmode="hybrid host, cgroup2 mount hidden: v1 for all three runtimes"
elif [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
  cgmode="cgroup v2 (unified)"
else
  cgmode="cgroup v1"
fi

cleanup_inner() {
  local rt id
  for rt in "${names[@]}"; do
    [ -d "$work/state-$rt" ] || continue
    for id in $(ls "$work/state-$rt" 2>/dev/null); do
      "${bin[$rt]}" --root "$work/state-$rt" delete --force "$id" >/dev/null 2>&1
    done
  done
  local d
  for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -name "$tag" -prune 2>/dev/null); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
}
trap cleanup_inner EXIT
trap 'exit 130' INT TERM

rootfs=$work/rootfs
cp -a "$ROOTFS_SRC" "$rootfs"             # a real directory: runc refuses a symlinked rootfs
for rt in "${names[@]}"; do mkdir -p "$work/state-$rt"; done

# config.json: runc's `runc spec` defaults (no seccomp, no terminal), rootfs by absolute path,
# a relative cgroupsPath (under the caller's cgroup for runc and runcs; crun takes it from the
# hierarchy root) unique per container. $1 dir, $2 args as JSON, $3 cgroup leaf, $4 extra
# top-level members (optional, with a trailing comma), $5 extra linux members (optional).
mkbundle() {
  mkdir -p "$1"
  printf '%s' '{
  "ociVersion": "1.0.2",
  '"${4:-}"'
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": '"$2"',
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
    "noNewPrivileges": true
  },
  "root": { "path": "'"$rootfs"'", "readonly": true },
  "hostname": "bench",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }
  ],
  "linux": {
    '"${5:-}"'
    "cgroupsPath": "'"$tag/$3"'",
    "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
    "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
' > "$1/config.json"
}

# crun (seeing /sys/fs/cgroup/unified) mkdirs and writes cgroup.procs in the hidden tmpfs and
# cannot rmdir them afterwards; empty it between scenarios (untimed) so it never fills up.
tidy() { [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = tmpfs ] && rm -rf "/sys/fs/cgroup/unified/$tag"; return 0; }

# Rotated order for round $1.
order() { local r=$(( $1 % 3 )); echo "${names[@]:r}" "${names[@]:0:r}"; }
# rec scenario runtime value
rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$samples"; }
# timed scenario runtime cmd...: runs cmd, records elapsed ms; returns cmd's status.
timed() {
  local sc=$1 rt=$2; shift 2
  local t0=${EPOCHREALTIME/./} rc
  "$@" >/dev/null 2>>"$work/errors-$rt"; rc=$?
  local t1=${EPOCHREALTIME/./}
  if [ $rc -eq 0 ]; then rec "$sc" "$rt" "$(( t1 - t0 ))e-3"; else echo "$sc: exit $rc" >> "$work/errors-$rt"; fi
  return $rc
}
# Waits until the pid in file $1 has exited and been reaped (this shell, pid 1 of the wrapper's
# pid namespace, reaps it; runtimes count a zombie init as running, as a shim reaps at once).
wait_exit() {
  local pid k
  read -r pid < "$1" 2>/dev/null; [ -n "$pid" ] || return 0   # runc writes no newline
  for ((k = 0; k < 5000; k++)); do
    [ -e "/proc/$pid" ] || return 0
    nap 0.001
  done
  return 0
}
rt_() { local rt=$1; shift; "${bin[$rt]}" --root "$work/state-$rt" "$@"; }
seq_id=0
newid() { seq_id=$((seq_id + 1)); echo "$1-$seq_id"; }

# ---- 0. process startup: `--version` -------------------------------------------------------
log "bench: startup (--version) x$RUNS"
for ((i = 0; i < RUNS; i++)); do
  for rt in $(order $i); do timed version "$rt" "${bin[$rt]}" --version; done
done

# ---- 1. run /bin/true ----------------------------------------------------------------------
log "bench: run /bin/true x$RUNS"
for ((i = 0; i < RUNS; i++)); do
  for rt in $(order $i); do
    id=$(newid run); b=$work/b/$id
    mkbundle "$b" '["/bin/true"]' "$id"
    timed run "$rt" rt_ "$rt" run --bundle "$b" "$id"
    rt_ "$rt" delete --force "$id" >/dev/null 2>&1; rm -rf "$b"
  done
done

tidy
# ---- 2. create / start / delete as separate calls -----------------------------------------
log "bench: create, start, delete x$LIFE_RUNS"
for ((i = 0; i < LIFE_RUNS; i++)); do
  for rt in $(order $i); do
    id=$(newid life); b=$work/b/$id
    mkbundle "$b" '["/bin/true"]' "$id"
    if timed create "$rt" rt_ "$rt" create --bundle "$b" --pid-file "$b/pid" "$id" &&
       timed start "$rt" rt_ "$rt" start "$id"; then
      wait_exit "$b/pid"
      timed delete "$rt" rt_ "$rt" delete "$id"
    fi
    rt_ "$rt" delete --force "$id" >/dev/null 2>&1; rm -rf "$b"
  done
done

tidy
# ---- 3. exec /bin/true into a running container --------------------------------------------
log "bench: exec /bin/true x$RUNS"
for rt in "${names[@]}"; do
  b=$work/b/exec-$rt
  mkbundle "$b" '["/bin/sleep", "3600"]' "exec-$rt"
  rt_ "$rt" run --detach --bundle "$b" "exec-$rt" >/dev/null 2>>"$work/errors-$rt" \
    || log "bench: $rt: could not start the exec target container"
done
for ((i = 0; i < RUNS; i++)); do
  for rt in $(order $i); do timed exec "$rt" rt_ "$rt" exec "exec-$rt" /bin/true; done
done
for rt in "${names[@]}"; do rt_ "$rt" delete --force "exec-$rt" >/dev/null 2>&1; done

# ---- 4. throughput: TP_N lifecycles with P in flight ----------------------------------------
lifecycle() {  # rt id bundle
  local rt=$1 id=$2 b=$3
  rt_ "$rt" create --bundle "$b" --pid-file "$b/pid" "$id" >/dev/null 2>>"$work/errors-$rt" || return 1
  rt_ "$rt" start "$id" >/dev/null 2>>"$work/errors-$rt" || { rt_ "$rt" delete --force "$id" >/dev/null 2>&1; return 1; }
  wait_exit "$b/pid"
  rt_ "$rt" delete "$id" >/dev/null 2>>"$work/errors-$rt" || { rt_ "$rt" delete --force "$id" >/dev/null 2>&1; return 1; }
}
batch() {  # rt P -> records containers/s
  local rt=$1 P=$2 k running=0 fails=0 ids=()
  for ((k = 0; k < TP_N; k++)); do
    ids[k]=tp$P-$rt-$k-$seq_id; mkbundle "$work/b/${ids[k]}" '["/bin/true"]' "${ids[k]}"
  done
  seq_id=$((seq_id + 1))
  local t0=${EPOCHREALTIME/./}
  for ((k = 0; k < TP_N; k++)); do
    if [ $running -ge "$P" ]; then wait -n || fails=$((fails + 1)); running=$((running - 1)); fi
    lifecycle "$rt" "${ids[k]}" "$work/b/${ids[k]}" &
    running=$((running + 1))
  done
  while [ $running -gt 0 ]; do wait -n || fails=$((fails + 1)); running=$((running - 1)); done
  local t1=${EPOCHREALTIME/./}
  if [ $fails -eq 0 ]; then
    rec "tp$P" "$rt" "$(awk -v n="$TP_N" -v us=$((t1 - t0)) 'BEGIN { printf "%.2f", n / (us / 1e6) }')"
  else
    echo "tp$P: $fails of $TP_N lifecycles failed" >> "$work/errors-$rt"
  fi
  for ((k = 0; k < TP_N; k++)); do rm -rf "$work/b/${ids[k]}"; done
}
for P in 2 8; do
  log "bench: throughput, $TP_N lifecycles with $P in flight, x$TP_REPS"
  for ((i = 0; i < TP_REPS; i++)); do
    for rt in $(order $i); do batch "$rt" "$P"; tidy; done
  done
done

tidy
# ---- 5. peak RSS (/usr/bin/time %M, KiB) and binary size ------------------------------------
if [ -x /usr/bin/time ]; then
  log "bench: peak RSS x$RSS_RUNS"
  for ((i = 0; i < RSS_RUNS; i++)); do
    for rt in $(order $i); do
      id=$(newid rss); b=$work/b/$id
      mkbundle "$b" '["/bin/true"]' "$id"
      /usr/bin/time -f %M -o "$b/rss" "${bin[$rt]}" --root "$work/state-$rt" create --bundle "$b" "$id" \
        >/dev/null 2>>"$work/errors-$rt" && rec rss_create "$rt" "$(tail -n1 "$b/rss")"
      rt_ "$rt" delete --force "$id" >/dev/null 2>&1
      /usr/bin/time -f %M -o "$b/rss" "${bin[$rt]}" --root "$work/state-$rt" run --bundle "$b" "$id" \
        >/dev/null 2>>"$work/errors-$rt" && rec rss_run "$rt" "$(tail -n1 "$b/rss")"
      rt_ "$rt" delete --force "$id" >/dev/null 2>&1; rm -rf "$b"
    done
  done
fi
for rt in "${names[@]}"; do rec size "$rt" "$(stat -L -c %s "${bin[$rt]}")"; done

tidy
# ---- 6. config parse + validation: create with a 2000-entry annotations block ---------------
log "bench: config size (create with 2000 annotations) x$CFG_RUNS"
big_ann='"annotations": {'
for ((k = 0; k < 2000; k++)); do big_ann+="\"org.example.bench.key-$k\": \"value number $k of the benchmark annotations block, some text to parse\", "; done
big_ann+='"org.example.bench.end": "end"},'
for ((i = 0; i < CFG_RUNS; i++)); do
  for rt in $(order $i); do
    for kind in small big; do
      id=$(newid cfg); b=$work/b/$id
      if [ $kind = big ]; then mkbundle "$b" '["/bin/true"]' "$id" "$big_ann"; else mkbundle "$b" '["/bin/true"]' "$id"; fi
      timed "create_$kind" "$rt" rt_ "$rt" create --bundle "$b" "$id"
      rt_ "$rt" delete --force "$id" >/dev/null 2>&1; rm -rf "$b"
    done
  done
done
cfg_big_bytes=$(( ${#big_ann} ))

tidy
# ---- 7. seccomp: Docker's default profile ---------------------------------------------------
seccomp_note=""
if [ -n "$SECCOMP_CONFIG" ] && command -v jq >/dev/null; then
  seccomp_json=$(jq -c '.linux.seccomp' "$SECCOMP_CONFIG" 2>/dev/null)
  if [ -n "$seccomp_json" ] && [ "$seccomp_json" != null ]; then
    nsys=$(jq '[.linux.seccomp.syscalls[].names[]] | length' "$SECCOMP_CONFIG")
    log "bench: seccomp (Docker's profile, $nsys syscall names) x$CFG_RUNS"
    out=$("$RUNCS" seccomp compile "$SECCOMP_CONFIG" 2>&1 </dev/null); rc=$?
    if [ $rc -eq 0 ]; then
      for ((i = 0; i < RUNS; i++)); do timed seccomp_compile runcs "$RUNCS" seccomp compile "$SECCOMP_CONFIG"; done
    else
      seccomp_note="\`runcs seccomp compile\`: not measurable yet ($(printf '%s' "$out" | sed -n 's/.*msg="\([^"]*\)".*/\1/p;q'))"
    fi
    # runcs refuses linux.seccomp until the compiler lands: try once, then leave it out.
    sc_rts=" ${names[*]} "
    id=$(newid sc); b=$work/b/$id
    mkbundle "$b" '["/bin/true"]' "$id" "" "\"seccomp\": $seccomp_json,"
    # The created container keeps create's stdio open until it runs: capture stderr in a file, not a pipe.
    if ! rt_ runcs create --bundle "$b" "$id" >/dev/null 2>"$work/sc-create.err" </dev/null; then
      out=$(cat "$work/sc-create.err")
      sc_rts=" runc crun "
      seccomp_note+="${seccomp_note:+; }\`runcs create\` with linux.seccomp: not measurable yet ($(printf '%s' "$out" | sed -n 's/.*msg="\([^"]*\)".*/\1/p;q'))"
    fi
    rt_ runcs delete --force "$id" >/dev/null 2>&1; rm -rf "$b"
    for ((i = 0; i < CFG_RUNS; i++)); do
      for rt in $(order $i); do
        [[ $sc_rts == *" $rt "* ]] || continue
        for kind in plain seccomp; do
          id=$(newid sc); b=$work/b/$id
          if [ $kind = seccomp ]; then mkbundle "$b" '["/bin/true"]' "$id" "" "\"seccomp\": $seccomp_json,"
          else mkbundle "$b" '["/bin/true"]' "$id"; fi
          timed "sc_$kind" "$rt" rt_ "$rt" create --bundle "$b" "$id"
          rt_ "$rt" delete --force "$id" >/dev/null 2>&1; rm -rf "$b"
        done
      done
    done
  fi
else
  seccomp_note="seccomp: skipped (no config with Docker's profile found, or jq missing; set SECCOMP_CONFIG)"
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
med=$work/medians.tsv
sort -t $'\t' -k1,1 -k2,2 -k3,3g "$samples" | awk -F '\t' '
  function flush() { if (n) printf "%s\t%s\t%s\t%d\n", key1, key2, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), n }
  { if ($1 != key1 || $2 != key2) { flush(); key1 = $1; key2 = $2; n = 0 } v[++n] = $3 + 0 }
  END { flush() }' > "$med"
m() { awk -F '\t' -v s="$1" -v r="$2" '$1 == s && $2 == r { print $3; f = 1 } END { if (!f) print "" }' "$med"; }
cnt() { awk -F '\t' -v s="$1" -v r="$2" '$1 == s && $2 == r { print $4 }' "$med"; }
fmt() { [ -n "$1" ] && awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }' || printf 'n/a'; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || printf 'n/a'; }
# check value target-expression -> "met"/"**not met**"
check() { [ "$1" = n/a ] && { printf 'n/a'; return; }; awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "le") ? v <= t + 1e-9 : v >= t - 1e-9; printf ok ? "met" : "**not met**" }'; }

load_now=$(cut -d' ' -f1-3 /proc/loadavg)
host_desc="$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(free -h | awk '/^Mem:/ { print $2 " RAM, " $7 " available" }'), kernel $(uname -r), $cgmode"
v_runcs=$("$RUNCS" --version | tr '\n' ' ' | sed 's/ *$//')
v_runc=$("$RUNC" --version | tr '\n' ' ' | sed 's/ *$//')
v_crun=$("$CRUN" --version | head -n 2 | tr '\n' ' ' | sed 's/ *$//')

rows=()   # scenario|label|unit|decimals|lower-is-better|target-vs-runc|target-vs-crun
rows+=("version|process startup (\`--version\`)|ms|1|1||")
rows+=("run|\`run\` /bin/true|ms|1|1|0.5|1.0")
rows+=("create|\`create\`|ms|1|1|1.0|")
rows+=("start|\`start\`|ms|1|1|1.0|")
rows+=("delete|\`delete\` (stopped container)|ms|1|1|1.0|")
rows+=("exec|\`exec\` /bin/true (into sleep)|ms|1|1|1.0|")
rows+=("tp2|throughput, $TP_N lifecycles, 2 in flight|containers/s|1|0|2.0|")
rows+=("tp8|throughput, $TP_N lifecycles, 8 in flight|containers/s|1|0|2.0|")
rows+=("rss_create|peak RSS, \`create\`|MiB|1|1|1.0|")
rows+=("rss_run|peak RSS, \`run\`|MiB|1|1|1.0|")
rows+=("size|binary size|MB|1|1||")
rows+=("create_small|\`create\`, runc-spec config (~3 KB)|ms|1|1||")
rows+=("create_big|\`create\`, + 2000 annotations ($((cfg_big_bytes / 1024)) KB)|ms|1|1||")
rows+=("sc_plain|\`create\` without seccomp|ms|1|1||")
rows+=("sc_seccomp|\`create\` with Docker's seccomp profile|ms|1|1||")

val() {  # scenario runtime -> value in display unit
  local v; v=$(m "$1" "$2"); [ -z "$v" ] && return
  case $1 in rss_*) awk -v v="$v" 'BEGIN { print v / 1024 }' ;; size) awk -v v="$v" 'BEGIN { print v / 1e6 }' ;; *) echo "$v" ;; esac
}

table=$work/table.md
{
  echo "| scenario | unit | runcs | runc | crun | runcs/runc | runcs/crun | target | |"
  echo "|---|---|---:|---:|---:|---:|---:|---|---|"
  for row in "${rows[@]}"; do
    IFS='|' read -r sc label unit dec lower tr tc <<< "$row"
    a=$(val "$sc" runcs); r=$(val "$sc" runc); c=$(val "$sc" crun)
    [ -z "$a$r$c" ] && continue
    rr=$(ratio "$a" "$r"); rc=$(ratio "$a" "$c")
    target=""; verdict=""
    if [ -n "$tr" ]; then
      if [ "$lower" = 1 ]; then target="≤ ${tr}× runc"; verdict=$(check "$rr" "$tr" le)
      else target="≥ ${tr}× runc"; verdict=$(check "$rr" "$tr" ge); fi
      if [ -n "$tc" ]; then target+=", ≤ ${tc}× crun"; v2=$(check "$rc" "$tc" le); [ "$v2" != met ] && verdict=$v2; fi
    fi
    echo "| $label | $unit | $(fmt "$a" "$dec") | $(fmt "$r" "$dec") | $(fmt "$c" "$dec") | $rr | $rc | $target | $verdict |"
  done
} > "$table"

# Derived: cost of the extra config bytes and of seccomp, per runtime (differences of medians).
derived=$work/derived.md
{
  echo "| derived (difference of medians) | runcs | runc | crun |"
  echo "|---|---:|---:|---:|"
  line="| parse + validate ${cfg_big_bytes} extra bytes of annotations (create_big − create_small), ms |"
  for rt in "${names[@]}"; do
    a=$(m create_big "$rt"); b=$(m create_small "$rt")
    line+=" $([ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", a - b }' || echo n/a) |"
  done
  echo "$line"
  line="| seccomp, Docker's profile (create with − without), ms |"
  for rt in "${names[@]}"; do
    a=$(m sc_seccomp "$rt"); b=$(m sc_plain "$rt")
    line+=" $([ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", a - b }' || echo n/a) |"
  done
  echo "$line"
  a=$(m seccomp_compile runcs)
  [ -n "$a" ] && echo "| \`runcs seccomp compile\` of Docker's profile (whole process), ms | $(fmt "$a" 1) | | |"
} > "$derived"

errors=""
for rt in "${names[@]}"; do
  [ -s "$work/errors-$rt" ] && errors+="- $rt: $(wc -l < "$work/errors-$rt") lines on stderr or failures; first: \`$(head -n1 "$work/errors-$rt" | cut -c1-200)\`"$'\n'
done

mkdir -p "$OUT"
{
  echo "# runcs benchmark results"
  echo
  echo "Produced by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'). All numbers come from this one"
  echo "run; runtimes were interleaved round by round; figures are medians (rounds: $RUNS for run/exec/startup,"
  echo "$LIFE_RUNS for create/start/delete, $TP_REPS batches of $TP_N for throughput, $RSS_RUNS for RSS, $CFG_RUNS for config/seccomp)."
  echo
  echo "- machine: $host_desc"
  echo "- load average before: $load_before; after: $load_now (the machine is shared: absolute numbers are noisy, ratios are what count)"
  echo "- runcs: $v_runcs"
  echo "- runc: $v_runc"
  echo "- crun: $v_crun"
  echo "- wrapper (same for all three): \`unshare -m -p -f --mount-proc\`; container: busybox, runc's default spec, no seccomp, no terminal, /bin/true"
  echo
  cat "$table"
  echo
  cat "$derived"
  echo
  [ -n "$seccomp_note" ] && { echo "- $seccomp_note"; echo; }
  echo "Notes: \`create\`/\`start\`/\`delete\` are timed as separate calls; the container's process is /bin/true, so"
  echo "\`delete\` removes a stopped container (the wait for its exit is not timed). Throughput runs create, start,"
  echo "wait for exit, delete for each container. Peak RSS is \`/usr/bin/time -f %M\` of the runtime command (it"
  echo "includes waited-for children, e.g. runc's \`runc init\` bootstrap). crun is dynamically linked (libcrun,"
  echo "libyajl, libseccomp, libsystemd...); its binary size excludes those libraries."
  echo
  echo "Where runcs's time goes and the plan for targets not met: [PROFILE.md](PROFILE.md)."
  if [ -n "$errors" ]; then echo; echo "Failures or stderr output during the run:"; echo; printf '%s' "$errors"; fi
  echo
  echo "![chart](results.svg)"
} > "$OUT/results.md"
cp "$samples" "$OUT/results-raw.tsv"

# ---- chart: time relative to runc (throughput as time per container), lower is better ------
{
  chart_rows=(run create start delete exec tp2 tp8 rss_create rss_run)
  W=860; left=250; barh=12; gap=10; scale=160   # px per 1.0x runc
  H=$(( 70 + ${#chart_rows[@]} * (3 * barh + gap) + 40 ))
  printf '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">\n' $W $H
  printf '<rect width="100%%" height="100%%" fill="white"/>\n'
  printf '<text x="10" y="20" font-size="15" font-weight="bold">runcs vs runc vs crun — relative to runc (lower is better), medians of one run</text>\n'
  printf '<text x="10" y="38" fill="#555">%s; load %s</text>\n' "$(date -u +%Y-%m-%d)" "$load_now"
  declare -A color=([runcs]="#7b3fa0" [runc]="#3a7bd5" [crun]="#e0902b")
  lx=10; for rt in "${names[@]}"; do
    printf '<rect x="%d" y="46" width="12" height="12" fill="%s"/><text x="%d" y="57">%s</text>\n' $lx "${color[$rt]}" $((lx + 16)) $rt; lx=$((lx + 80)); done
  for x in 1 2 3; do
    printf '<line x1="%d" y1="64" x2="%d" y2="%d" stroke="#bbb" stroke-dasharray="3,3"/><text x="%d" y="%d" fill="#777" text-anchor="middle">%d×</text>\n' \
      $((left + x * scale)) $((left + x * scale)) $((H - 30)) $((left + x * scale)) $((H - 16)) $x
  done
  y=70
  for sc in "${chart_rows[@]}"; do
    base=$(val "$sc" runc); [ -z "$base" ] && continue
    label=""; for row in "${rows[@]}"; do [ "${row%%|*}" = "$sc" ] && { IFS='|' read -r _ label unit _ <<< "$row"; }; done
    label=${label//\`/}
    printf '<text x="%d" y="%d" text-anchor="end">%s</text>\n' $((left - 8)) $((y + barh * 3 / 2 + 4)) "${label//&/&amp;}"
    for rt in "${names[@]}"; do
      v=$(val "$sc" "$rt")
      if [ -n "$v" ]; then
        awk -v v="$v" -v b="$base" -v inv="$([[ $sc == tp* ]] && echo 1 || echo 0)" -v left=$left -v y=$y -v h=$barh -v s=$scale \
            -v col="${color[$rt]}" -v unit="$unit" 'BEGIN {
          r = inv ? b / v : v / b; w = r * s; cap = 4.2 * s; if (w > cap) w = cap
          printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", left, y, w, h - 1, col
          printf "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%.2f× (%.1f %s)</text>\n", left + w + 4, y + h - 2, r, v, unit }'
      fi
      y=$((y + barh))
    done
    y=$((y + gap))
  done
  printf '</svg>\n'
} > "$OUT/results.svg"

echo
echo "runcs benchmark — $(date -u '+%Y-%m-%d %H:%M UTC') — $host_desc — load ${load_before} -> $load_now"
echo
cat "$table"
echo
cat "$derived"
[ -n "$seccomp_note" ] && echo && echo "$seccomp_note"
[ -n "$errors" ] && echo && printf 'Failures or stderr output:\n%s' "$errors"
echo
echo "written: $OUT/results.md, $OUT/results.svg, $OUT/results-raw.tsv"
