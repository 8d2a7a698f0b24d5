#!/usr/bin/env bash
# Builds the busybox image the ecosystem tests import into containerd, Podman and Docker, without
# any registry: one layer (the tests' busybox rootfs from tests/rootfs/build-rootfs.sh, tarred
# reproducibly), an image config and a manifest, digests computed here.
#
# Usage: tests/ecosystem/build-image.sh OUTDIR
# Writes OUTDIR/oci.tar     OCI image layout (index.json names the image, for `ctr images import`
#                           and `podman load`)
#        OUTDIR/docker.tar  docker-archive (manifest.json with RepoTags, for `docker load`)
#        OUTDIR/name        the image reference: localhost/runcs-busybox:latest
# Rebuilt only when the rootfs stamp or this script changed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build-image.sh OUTDIR}
rootfs=${RUNCS_TEST_ROOTFS:-$repo/.cache/rootfs}
RUNCS_TEST_ROOTFS=$rootfs "$repo/tests/rootfs/build-rootfs.sh" >/dev/null
name=localhost/runcs-busybox:latest
stamp="$(cat "$rootfs/.runcs-rootfs")-$(sha256sum "$0" | cut -c1-16)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && [ -f "$out/oci.tar" ] && [ -f "$out/docker.tar" ]; then
  exit 0
fi
tmp="$out.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp/layout/blobs/sha256"
trap 'rm -rf "$tmp"' EXIT
blobs="$tmp/layout/blobs/sha256"
put() { # file -> prints "hex size", moves the file into blobs/sha256/<hex>
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1); size=$(stat -c %s "$1")
  mv "$1" "$blobs/$hex"; echo "$hex $size"
}
# The layer: uncompressed (so its digest is also its diff_id), owned by root, fixed mtime and order.
tar -C "$rootfs" --sort=name --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
  --exclude=./.runcs-rootfs -cf "$tmp/layer.tar" .
read -r lhex lsize < <(put "$tmp/layer.tar")
cat > "$tmp/config.json" <<J
{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$lhex"]},"history":[{"created":"2024-01-01T00:00:00Z","created_by":"runcs tests/ecosystem/build-image.sh"}]}
J
read -r chex csize < <(put "$tmp/config.json")
cat > "$tmp/manifest.json" <<J
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$chex","size":$csize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$lhex","size":$lsize}]}
J
read -r mhex msize < <(put "$tmp/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' > "$tmp/layout/oci-layout"
cat > "$tmp/layout/index.json" <<J
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$mhex","size":$msize,"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}
J
tar -C "$tmp/layout" --sort=name --owner=0 --group=0 --numeric-owner -cf "$tmp/oci.tar" oci-layout index.json blobs
# docker-archive: same blobs, Docker's manifest.json instead of the OCI index.
mkdir -p "$tmp/docker/blobs/sha256"
cp "$blobs/$lhex" "$blobs/$chex" "$tmp/docker/blobs/sha256/"
cat > "$tmp/docker/manifest.json" <<J
[{"Config":"blobs/sha256/$chex","RepoTags":["$name"],"Layers":["blobs/sha256/$lhex"]}]
J
tar -C "$tmp/docker" --sort=name --owner=0 --group=0 --numeric-owner -cf "$tmp/docker.tar" manifest.json blobs
mkdir -p "$out"
mv -f "$tmp/oci.tar" "$out/oci.tar"; mv -f "$tmp/docker.tar" "$out/docker.tar"
echo "$name" > "$out/name"; echo "$stamp" > "$out/.stamp"
echo "build-image: $out ($name)"
