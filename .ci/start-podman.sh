#!/usr/bin/env bash
# Install (Debian's podman) and start Podman's Docker-compatible API on a unix socket, unless it answers.
# The Docker connector's contract suite runs against it too (tests/contract/harness_podman.py).
# crun and the default ulimits fail in this sandbox: runc and explicit ulimits are configured; netavark
# with aardvark-dns (not the CNI default) so containers resolve each other's names on every network.
set -euo pipefail
SOCKET="${FEDERANGE_PODMAN_SOCKET:-/run/podman/podman.sock}"

if ! command -v podman >/dev/null 2>&1 || [ ! -x /usr/libexec/podman/catatonit ] \
    || [ ! -x /usr/lib/podman/aardvark-dns ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends podman runc catatonit netavark aardvark-dns >/tmp/federange-podman-apt.log 2>&1 || {
    apt-get update >>/tmp/federange-podman-apt.log 2>&1
    apt-get install -y --no-install-recommends podman runc catatonit netavark aardvark-dns >>/tmp/federange-podman-apt.log 2>&1 || {
      tail -n 30 /tmp/federange-podman-apt.log; exit 1; }
  }
fi

mkdir -p /etc/containers "$(dirname "$SOCKET")"
if ! grep -qs 'network_backend = "netavark"' /etc/containers/containers.conf; then
  cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
fi

if curl -sf --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; then
  echo "Podman API already answering on $SOCKET"
  exit 0
fi

nohup podman system service --time=0 "unix://$SOCKET" >/tmp/podman-service.log 2>&1 &
for _ in $(seq 1 30); do
  if curl -sf --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; then
    echo "Podman $(podman version --format '{{.Server.Version}}' 2>/dev/null || podman --version) API on $SOCKET"
    exit 0
  fi
  sleep 1
done
echo "podman system service did not answer within 30 s; its log:" >&2
tail -n 40 /tmp/podman-service.log >&2
exit 1
