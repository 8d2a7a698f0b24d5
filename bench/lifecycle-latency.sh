#!/usr/bin/env bash
# `run` latency of /bin/true: runcs vs runc on the same bundle (a `runcs spec` config on a copied
# busybox rootfs), alternating, N runs each (default 20); prints the medians and their ratio.
# Usage: bench/lifecycle-latency.sh [N]   (root; needs bin/runcs, .cache/rootfs and runc)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20}
runcs=${RUNCS_BINARY:-$repo/bin/runcs}
runc=${RUNC_BINARY:-runc}
rootfs=${RUNCS_TEST_ROOTFS:-$repo/.cache/rootfs}
tmp=$(mktemp -d /tmp/runcs-bench-XXXXXX)
cleanup() {
  for rt in runcs runc; do
    bin=$runcs; [ $rt = runc ] && bin=$runc
    for id in $("$bin" --root "$tmp/state-$rt" list -q 2>/dev/null); do "$bin" --root "$tmp/state-$rt" delete --force "$id" >/dev/null 2>&1 || true; done
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
cp -a "$rootfs" "$tmp/rootfs"
"$runcs" spec --bundle "$tmp"
python3 - "$tmp/config.json" <<'P'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(p, "w"), indent=1)
P
now() { date +%s%N; }
declare -a t_runcs t_runc
for ((i = 0; i < n; i++)); do
  for rt in runcs runc; do
    bin=$runcs; [ $rt = runc ] && bin=$runc
    s=$(now)
    "$bin" --root "$tmp/state-$rt" run --bundle "$tmp" "b$i" </dev/null >/dev/null
    e=$(now)
    us=$(( (e - s) / 1000 ))
    if [ $rt = runcs ]; then t_runcs+=("$us"); else t_runc+=("$us"); fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
mr=$(median "${t_runcs[@]}"); mc=$(median "${t_runc[@]}")
echo "run /bin/true, median of $n (alternating):"
printf '  runcs %8.1f ms\n' "$(echo "$mr / 1000" | bc -l)"
printf '  runc  %8.1f ms\n' "$(echo "$mc / 1000" | bc -l)"
printf '  ratio runcs/runc %.2f\n' "$(echo "$mr / $mc" | bc -l)"
