#!/usr/bin/env bash
# Builds the busybox root filesystem used by every container test and by `make demo`.
# Source: Debian's busybox-static (/bin/busybox). Output: $RUNCS_TEST_ROOTFS (default
# <repo>/.cache/rootfs), rebuilt only when missing or when the busybox binary changed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${RUNCS_TEST_ROOTFS:-$repo/.cache/rootfs}
bb=/bin/busybox
if ! [ -x "$bb" ] || ! "$bb" --list >/dev/null 2>&1 || file -L "$bb" 2>/dev/null | grep -q dynamic; then
  echo "build-rootfs: $bb (static) is missing: apt-get install busybox-static" >&2
  exit 1
fi
stamp="$(sha256sum "$bb" | cut -c1-16)-v2"
if [ -f "$out/.runcs-rootfs" ] && [ "$(cat "$out/.runcs-rootfs")" = "$stamp" ]; then
  exit 0
fi
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run,mnt}
chmod 1777 "$tmp/tmp"
cp "$bb" "$tmp/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf /bin/busybox "$tmp/bin/$applet"
done
cat > "$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$tmp/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
echo "$stamp" > "$tmp/.runcs-rootfs"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$tmp" "$out"
echo "build-rootfs: $out"
