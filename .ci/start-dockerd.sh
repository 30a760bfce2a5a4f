#!/usr/bin/env bash
# Install (Debian's docker.io) and start a Docker engine unless one already answers.
# The connector and end-to-end tests deploy real containers onto it; images are built locally
# from busybox-static because no container registry is reachable here.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  docker version --format 'Docker engine {{.Server.Version}} already running'
  exit 0
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/federange-apt.log 2>&1 || {
    apt-get update >>/tmp/federange-apt.log 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/federange-apt.log 2>&1 || {
      tail -n 30 /tmp/federange-apt.log; exit 1; }
  }
fi

nohup dockerd --host unix:///var/run/docker.sock >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    docker version --format 'Docker engine {{.Server.Version}} started'
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; its log:" >&2
tail -n 40 /tmp/dockerd.log >&2
exit 1
