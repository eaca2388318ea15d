#!/usr/bin/env bash
# Builds runbook's image from files on this host, pulling nothing: the same layout as the
# Containerfile's runtime stage (runbook in /usr/bin with the shared libraries `ldd` names,
# kubectl, plans in /usr/share/runbook/plans, CA certificates, /etc/passwd with the non-root
# user 65532, entrypoint runbook), assembled with `buildah from scratch` + `buildah mount`.
# For machines without registry access (tests/image.rs, CI); elsewhere use the Containerfile.
#
# Needs root and Debian's buildah. Environment (all optional):
#   RUNBOOK_BIN   the binary (default target/release/runbook)
#   KUBECTL_BIN   kubectl (default: the one on PATH)
#   IMAGE         the image name (default localhost/runbook:dev)
#   BUILDAH_ROOT  buildah's storage root (default: buildah's own); the driver is vfs
# Prints `size_bytes=N` (the root filesystem, uncompressed) and `image=NAME` on success.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNBOOK_BIN=${RUNBOOK_BIN:-target/release/runbook}
KUBECTL_BIN=${KUBECTL_BIN:-$(command -v kubectl || true)}
IMAGE=${IMAGE:-localhost/runbook:dev}
[ "$(id -u)" = 0 ] || { echo "build-from-host.sh: needs root (buildah with the vfs driver)" >&2; exit 2; }
command -v buildah >/dev/null || { echo "build-from-host.sh: buildah not found (apt-get install -y buildah)" >&2; exit 2; }
[ -x "$RUNBOOK_BIN" ] || { echo "build-from-host.sh: no runbook binary at $RUNBOOK_BIN (cargo build --release)" >&2; exit 2; }
[ -x "$KUBECTL_BIN" ] || { echo "build-from-host.sh: kubectl not found" >&2; exit 2; }

buildah=(buildah --storage-driver vfs)
[ -n "${BUILDAH_ROOT:-}" ] && buildah+=(--root "$BUILDAH_ROOT" --runroot "$BUILDAH_ROOT/run")

ctr=$("${buildah[@]}" from scratch)
cleanup() { "${buildah[@]}" umount "$ctr" >/dev/null 2>&1 || true; "${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
root=$("${buildah[@]}" mount "$ctr")

install -D -m 0755 "$RUNBOOK_BIN" "$root/usr/bin/runbook"
# The symbol table too (the release profile keeps it for backtraces): 24.4 -> 19.6 MB, and
# the image under 85 MB with kubectl's 57 MB.
if command -v strip >/dev/null; then strip --strip-all "$root/usr/bin/runbook"; fi
install -D -m 0755 "$KUBECTL_BIN" "$root/usr/bin/kubectl"
# The shared libraries of both binaries (kubectl is usually static), at their own paths.
for bin in "$RUNBOOK_BIN" "$KUBECTL_BIN"; do
  ldd "$bin" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
done | sort -u | while read -r lib; do
  cp -L --parents "$lib" "$root/"
done
mkdir -p "$root/usr/share/runbook" "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot" "$root/var/lib/runbook"
cp -r plans "$root/usr/share/runbook/plans"
# HTTPS targets verify against the system CA bundle (rustls-platform-verifier reads it).
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/home/nonroot" "$root/var/lib/runbook"
chmod 0700 "$root/var/lib/runbook"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# /bin -> usr/bin, as on Debian: `runbook` is also /bin/runbook.
ln -s usr/bin "$root/bin"
# From the working directory the plans are where the README's commands look (`plans/...`).
ln -s /usr/share/runbook/plans "$root/home/nonroot/plans"

size=$(du -sb "$root" | cut -f1)
version=$("$RUNBOOK_BIN" --version | awk '{ print $2 }')
revision=$("$RUNBOOK_BIN" --version | sed -n 's/.*(commit \(.*\))/\1/p')
"${buildah[@]}" config \
  --user 65532:65532 \
  --workingdir /home/nonroot \
  --env RUNBOOK_STATE_DIR=/var/lib/runbook \
  --env RUNBOOK_KUBECTL=/usr/bin/kubectl \
  --entrypoint '["/usr/bin/runbook"]' \
  --cmd '--help' \
  --label org.opencontainers.image.title=runbook \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  "$ctr"
"${buildah[@]}" umount "$ctr" >/dev/null
"${buildah[@]}" commit --quiet "$ctr" "$IMAGE" >/dev/null
echo "size_bytes=$size"
echo "image=$IMAGE"
