#!/usr/bin/env bash
# Runs the test projects and prints one closing line: "N passed, N failed, N skipped".
# Usage: tests/run-tests.sh [unit|conformance|all]   (default all)
# A project that fails to build or crashes counts as one failed test, so it cannot pass silently.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
which=${1:-all}
projects=()
case "$which" in
  unit) projects=(tests/Runtime.Tests tests/Seccomp.Tests) ;;
  conformance) projects=(tests/conformance) ;;
  all) projects=(tests/Runtime.Tests tests/Seccomp.Tests tests/conformance) ;;
  *) echo "usage: $0 [unit|conformance|all]" >&2; exit 2 ;;
esac
export RUNCS_REPO="$repo"
passed=0; failed=0; skipped=0
logdir=$(mktemp -d)
for p in "${projects[@]}"; do
  name=$(basename "$p")
  log="$logdir/$name.log"
  echo "=== $p"
  dotnet test "$p" -c Debug --nologo -v:q --logger "console;verbosity=normal" 2>&1 | tee "$log" | grep -E '^\s*(Failed|Skipped) |Error Message|^\s+at |Passed!|Failed!|error ' | head -300
  line=$(grep -E '(Passed|Failed)! +- Failed: ' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "!!! $p: no test summary (build failure or crash); counted as 1 failed"
    failed=$((failed + 1))
    continue
  fi
  f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
  pa=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + pa)); failed=$((failed + f)); skipped=$((skipped + s))
done
rm -rf "$logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
