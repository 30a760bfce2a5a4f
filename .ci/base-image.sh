#!/usr/bin/env bash
# Make the local base image `local/debian:bookworm` (Debian bookworm, debootstrap minbase + ca-certificates)
# unless the engine already has one made by this same recipe. No container registry is reachable here, so
# every image the project builds starts FROM this one (`docker build --build-arg BASE=local/debian:bookworm`):
# the Federange image (Containerfile) and the scenario library's images. Keep it general: whatever an image
# needs beyond a bare Debian (Python, tools) is installed by that image's own build.
#
# Cached between CI runs by the engine itself: the image carries the recipe's digest as a label, and a
# matching image is reused. A run that is interrupted leaves no tagged image behind (the root filesystem is
# imported and checked under a temporary name, then tagged), and its partial debootstrap directory is
# removed by the next run, so an interruption can never poison the cache.
#
#   FEDERANGE_BASE_IMAGE    the tag to make (default local/debian:bookworm)
#   FEDERANGE_DEBIAN_MIRROR the Debian mirror (default http://deb.debian.org/debian)
#   FEDERANGE_BASE_REBUILD  1: rebuild even when a matching image exists
#   FEDERANGE_BASE_LOCAL_CA directory of extra CA certificates (*.crt) the image trusts besides Debian's
#                           (default /usr/local/share/ca-certificates: what this machine trusts, e.g. the
#                           egress proxy that intercepts TLS here, so that `pip install` in builds FROM this
#                           image reaches PyPI as the host does); `none` for Debian's bundle only
set -euo pipefail

IMAGE="${FEDERANGE_BASE_IMAGE:-local/debian:bookworm}"
MIRROR="${FEDERANGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
VARIANT=minbase
INCLUDE=ca-certificates
WORKROOT=/var/tmp/federange-base-image
# Bump when the steps below change what the image contains: a cached image of another recipe is rebuilt.
RECIPE_VERSION=1
LABEL=eu.federange.base-recipe
LOCAL_CA="${FEDERANGE_BASE_LOCAL_CA:-/usr/local/share/ca-certificates}"
local_ca=()
if [ "$LOCAL_CA" != none ] && [ -d "$LOCAL_CA" ]; then
  while IFS= read -r -d '' crt; do local_ca+=("$crt"); done < <(find "$LOCAL_CA" -maxdepth 1 -name '*.crt' -print0 | sort -z)
fi
recipe=$( { printf '%s\n' "$RECIPE_VERSION" "$SUITE" "$VARIANT" "$INCLUDE" "$MIRROR";
            [ "${#local_ca[@]}" -eq 0 ] || cat "${local_ca[@]}"; } | sha256sum | cut -c1-16)

started=$(date +%s)
say() { printf 'base image: %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - started ))s"; }

have=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe" ] && [ "${FEDERANGE_BASE_REBUILD:-0}" != 1 ]; then
  say "reused $IMAGE ($(docker image inspect --format '{{ .Id }}, {{ .Size }} bytes, created {{ .Created }}' "$IMAGE")) in $(elapsed)"
  exit 0
fi
if [ -n "$have" ]; then
  say "$IMAGE was made by recipe $have, not $recipe: rebuilding"
else
  say "$IMAGE is missing: building it with debootstrap ($SUITE, $VARIANT, + $INCLUDE) from $MIRROR"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends debootstrap >/tmp/federange-debootstrap-apt.log 2>&1 || {
    apt-get update >>/tmp/federange-debootstrap-apt.log 2>&1
    apt-get install -y --no-install-recommends debootstrap >>/tmp/federange-debootstrap-apt.log 2>&1 || {
      tail -n 30 /tmp/federange-debootstrap-apt.log >&2; exit 1; }
  }
fi

# Only one build at a time on a machine; what an earlier, interrupted build left behind goes first.
mkdir -p "$WORKROOT"
exec 9>"$WORKROOT/lock"
flock 9
have=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe" ] && [ "${FEDERANGE_BASE_REBUILD:-0}" != 1 ]; then
  say "another run made $IMAGE meanwhile: reused in $(elapsed)"
  exit 0
fi
unmount_under() {  # debootstrap mounts /proc and /sys inside the target; an interrupted run may leave them
  awk -v dir="$1/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
}
for stale in "$WORKROOT"/root.*; do
  [ -e "$stale" ] || continue
  say "removing $stale, left by an interrupted run"
  unmount_under "$stale"
  rm -rf --one-file-system "$stale"
done

root=$(mktemp -d "$WORKROOT/root.XXXXXX")
candidate=""
cleanup() {
  unmount_under "$root"
  rm -rf --one-file-system "$root"
  if [ -n "$candidate" ]; then docker image rm "$candidate" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

log="$WORKROOT/debootstrap.log"
if ! debootstrap --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$root" "$MIRROR" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  say "debootstrap failed after $(elapsed)" >&2
  exit 1
fi
say "debootstrap done at $(elapsed)"

# Sources for later `apt-get install` in builds (updates and security fixes too); container-friendly dpkg
# and apt settings; nothing cached, logged or generated per machine stays in the image.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
cat >"$root/etc/dpkg/dpkg.cfg.d/federange-container" <<'DPKG'
# Images built on this base carry no documentation, manual pages or translations (copyrights stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
cat >"$root/etc/apt/apt.conf.d/federange-container" <<'APT'
// No package cache inside images: `apt-get install` cleans up after itself.
APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
APT
if [ "${#local_ca[@]}" -gt 0 ]; then
  cp "${local_ca[@]}" "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >>"$log" 2>&1
  say "trusts ${#local_ca[@]} local CA certificate(s) from $LOCAL_CA besides Debian's"
fi
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
  "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/tmp/* "$root"/var/tmp/* \
  "$root"/etc/machine-id "$root"/var/lib/dbus/machine-id
: >"$root/etc/machine-id"
echo "$IMAGE" | cut -d: -f1 >"$root/etc/hostname"

candidate=$(tar --numeric-owner --xattrs -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL $LABEL=$recipe" \
  --change "LABEL org.opencontainers.image.title=\"Debian $SUITE ($VARIANT) for Federange builds\"" \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=$VARIANT --include=$INCLUDE $SUITE $MIRROR" -)
# The imported image must be whole before it takes the tag builds look for.
if ! docker run --rm --network none "$candidate" sh -c \
    'test -s /etc/ssl/certs/ca-certificates.crt && apt-get --version >/dev/null && dpkg -s ca-certificates >/dev/null'; then
  say "the imported image $candidate is incomplete: not tagged" >&2
  exit 1
fi
previous=$(docker image inspect --format '{{ .Id }}' "$IMAGE" 2>/dev/null || true)
docker tag "$candidate" "$IMAGE"
candidate=""
if [ -n "$previous" ]; then  # the image of the old recipe, unless images built on it still need it
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
say "built $IMAGE ($(docker image inspect --format '{{ .Id }}, {{ .Size }} bytes' "$IMAGE")) in $(elapsed)"
