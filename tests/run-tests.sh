#!/usr/bin/env bash
# Runs the test projects and prints one closing line: "N passed, N failed, N skipped".
# Usage: tests/run-tests.sh [unit|conformance|all]   (default all)
#
# Counts come from the VSTest console logger at normal verbosity, which (with NUnit3TestAdapter
# 5.2.0 on .NET 10) ends each project's run with
#     Test Run Successful.        (or "Test Run Failed." / "Test Run Aborted.")
#     Total tests: 12
#          Passed: 10
#          Failed: 1              (only when non-zero)
#         Skipped: 1              (only when non-zero)
# A project without tests prints "No test is available in ..." and counts as nothing. A project
# that fails to build, crashes or aborts (no summary, or a non-zero exit with no failure counted)
# counts as one failed test, so it cannot pass silently.
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
trap 'rm -rf "$logdir"' EXIT
for p in "${projects[@]}"; do
  [ -d "$p" ] || continue
  name=$(basename "$p")
  log="$logdir/$name.log"
  echo "=== $p"
  dotnet test "$p" -c Debug --nologo -v:q --logger "console;verbosity=normal" >"$log" 2>&1
  rc=$?
  # Show what needs attention: failures with their messages, skips with their reasons, build errors.
  grep -E '^\s+Skipped |^\s{3,}\S.*(not implemented|skipped|ignored)|: error |^Test Run |^Total tests:|^\s+(Passed|Failed|Skipped): ' "$log" | head -200
  # Each failure in full: from its "Failed" line to the end of its message (before the stack trace).
  awk '/^[ \t]+Failed [^:]/ { show=1 } /^[ \t]+Stack Trace:/ { if (show) print; show=0 } show { print }' "$log" | head -400
  counts=$(awk '
    /^Total tests:/ { seen=1; p=0; f=0; s=0; next }
    seen && /^[ \t]*Passed:/  { p=$2 }
    seen && /^[ \t]*Failed:/  { f=$2 }
    seen && /^[ \t]*Skipped:/ { s=$2 }
    seen && /Total time:/ { seen=2 }
    END { if (seen) print p+0, f+0, s+0; }' "$log")
  if [ -z "$counts" ]; then
    if [ "$rc" -eq 0 ] && grep -q 'No test is available in' "$log"; then
      echo "--- $p: no tests"
      continue
    fi
    tail -20 "$log"
    echo "!!! $p: no test summary (build failure or crash, exit $rc); counted as 1 failed"
    failed=$((failed + 1))
    continue
  fi
  read -r pa f s <<<"$counts"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!!! $p: dotnet test exited $rc with no failed test (aborted run?); counted as 1 failed"
    f=1
  fi
  passed=$((passed + pa)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
