#!/usr/bin/env python3
"""Answers the four questions with read-only SQL through the SOC console (its JSON API)."""

import base64
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

console = "http://" + os.environ["FEDERANGE_ENTRY_CONSOLE_3000"]
login = base64.b64encode(f"analyst:{os.environ['FEDERANGE_ACCESS_GRAFANA_PASSWORD']}".encode()).decode()


def lines(sql: str) -> list[str]:
    url = f"{console}/api/query?{urllib.parse.urlencode({'sql': sql})}"
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {login}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return [row[0] for row in json.load(answer)["rows"]]


def log(text: str) -> None:
    print(text, file=sys.stderr)


# The shipper fills the store right after deploy, each source at its own pace: wait until the evidence
# every question needs is in (one source's last line says nothing of the others').
EVIDENCE = (
    "source = 'auth' AND line LIKE '%Accepted password%'",
    "source = 'nginx' AND line LIKE '%?c=%'",
    "source = 'process' AND line LIKE '%curl%upload%'",
    "source = 'auth' AND line LIKE '%useradd%'",
)
for _ in range(60):
    counts = lines("SELECT CONCAT(source, ' ', COUNT(*)) FROM events GROUP BY source ORDER BY source")
    log(f"evidence: {counts}")
    if all(lines(f"SELECT line FROM events WHERE {where} LIMIT 1") for where in EVIDENCE):
        break
    time.sleep(1)

log("Q2/Q1: the successful password login after the brute force")
accepted = lines("SELECT line FROM events WHERE source = 'auth' AND line LIKE '%Accepted password%'")
match = re.search(r"Accepted password for (\S+) from (\S+)", accepted[0])
print(f"RECOVERED victim_user {match.group(1)}")
print(f"RECOVERED attacker_ip {match.group(2)}")

log("Q3: the web shell answers commands in ?c=")
shell = lines("SELECT line FROM events WHERE source = 'nginx' AND line LIKE '%?c=%' ORDER BY id LIMIT 1")
webshell = re.search(r"/([^/?]+)\?c=", shell[0]).group(1)
print(f"RECOVERED webshell {webshell}")

log("Q4: the upload in the process accounting")
upload = lines("SELECT line FROM events WHERE source = 'process' AND line LIKE '%curl%upload%'")
flag = re.search(r"id=(FLAG\{[0-9a-f]+\})", upload[0]).group(1)
print(f"RECOVERED flag_exfil {flag}")

log("Q5: persistence")
log("\n".join(lines("SELECT line FROM events WHERE source = 'auth' AND line LIKE '%useradd%'")))
