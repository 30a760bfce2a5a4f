"""Tests and benchmarks send traffic only inside the machine or to networks they made themselves.

The rule, over every text file under tests/ and bench/ (hidden directories and caches skipped):

1. Every IPv4 literal (`a.b.c.d`, optionally `/prefix`) and IPv6 literal (a token of hex groups with
   `::` or eight groups, optionally `/prefix`) is classified by the network it names:

   - **inside** - allowed anywhere: loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0, ::), the whole
     address space as a rule's scope (0.0.0.0/0, ::/0: a policy's "any", never a destination), private
     (RFC 1918: 10/8, 172.16/12, 192.168/16; RFC 4193: fc00::/7), shared (RFC 6598: 100.64/10),
     link-local (169.254/16, fe80::/10) and the limited broadcast 255.255.255.255. Packets to these
     never leave the machine, or only reach the bridges and namespaces the tests create (Docker
     networks, the Kubernetes API double's pod and service addresses);
   - **documentation** - RFC 5737 (192.0.2/24, 198.51.100/24, 203.0.113/24) and RFC 3849
     (2001:db8::/32): nobody answers there, but a packet sent to one still leaves through the default
     route, so they are allowed *as data only* (a range's access address in a rendering, "the internet"
     in the offline NetworkPolicy evaluator, a refused config value): a finding on any line that sends
     traffic (rule 3);
   - **anything else** (public, multicast, reserved, benchmarking...) - a finding wherever it appears,
     data or not: a grep cannot follow a value from its line into a socket call, and data never needs a
     real address (a documentation one plays "somewhere on the internet" just as well). The only
     exceptions are listed in `THIRD_PARTY`: addresses inside files other projects wrote, kept verbatim
     as importer input, each with the reason it is never dialled; an entry that no longer matches fails.

2. IPv6 tokens made only of `::` and at most two one- or two-digit groups (`::`, `::1`, Python slices
   such as `[::2]`) are not classified: they all lie in ::/8 (loopback, unspecified, reserved), which no
   router forwards.

3. A line *sends traffic* when it runs a network client (`nc`, `ncat`, `netcat`, `wget`, `curl`, `ping`,
   `ping6`, `telnet`, `ssh`, `scp`, `nslookup`, `dig`, `traceroute`, `nmap`, `hydra`, `sqlmap`,
   `smbclient`), opens a connection from Python (`connect(`, `create_connection(`, `sendto(`,
   `urlopen(`, `httpx.`, `requests.`, `base_url=`), or builds a probe target (`Target(`). On such a line,
   besides rule 1, a URL's host name must be a single label (resolved inside the test's own network:
   `web`, `db`), `localhost`, or under a name reserved for tests or the cluster (RFC 2606/6761:
   `.example`, `.test`, `.invalid`, `.localhost`, `example.com/net/org`; `.local`, `.cluster.local`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tests", "bench")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

INSIDE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "::1/128",
        "0.0.0.0/32",
        "::/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "fe80::/10",
        "255.255.255.255/32",
    )
)
EVERYTHING: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
DOCUMENTATION: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)

#: (path, address, why it is never a traffic target): files other projects wrote, kept verbatim.
THIRD_PARTY: tuple[tuple[str, str, str], ...] = (
    (
        "tests/fixtures/corpus/cyris/cyris__examples_full.yml",
        ".".join(("69", "89", "31", "226")),  # assembled: this file holds no public literal
        "the `attack_source` written into a pcap that CyRIS would generate; the importer reports the task as "
        "unsupported and no test deploys it",
    ),
)

IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(/\d{1,2})?(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(/\d{1,3})?(?![\w:])")
SLICE_LIKE = re.compile(r"^(\d{1,2})?::(\d{1,2})?$")
TRAFFIC = re.compile(
    r"\b(nc|ncat|netcat|wget|curl|ping6?|telnet|ssh|scp|nslookup|dig|traceroute|nmap|hydra|sqlmap|smbclient)\b"
    r"|\b(connect|create_connection|sendto|urlopen|Target)\(|\b(httpx|requests)\.|\bbase_url="
)
URL_HOST = re.compile(r"\b[a-z][a-z0-9+.-]*://([A-Za-z0-9._-]+)")
RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".local", ".cluster.local")
RESERVED_NAMES = ("localhost", "example.com", "example.net", "example.org")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    literal: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.literal} ({self.why})"


def _network(literal: str) -> Network | None:
    try:
        return ipaddress.ip_network(literal, strict=False)
    except ValueError:
        return None


def _within(network: Network, ranges: tuple[Network, ...]) -> bool:
    return any(network.version == r.version and network.subnet_of(r) for r in ranges)


def _literals(line: str) -> Iterator[tuple[str, Network]]:
    for match in IPV4.finditer(line):
        network = _network(match.group(1) + (match.group(2) or ""))
        if network is not None:
            yield match.group(0), network
    for match in IPV6.finditer(line):
        token = match.group(1)
        if ("::" not in token and token.count(":") != 7) or SLICE_LIKE.match(token):
            continue
        network = _network(token + (match.group(2) or ""))
        if network is not None:
            yield match.group(0), network


def _name_allowed(name: str) -> bool:
    name = name.lower().rstrip(".")
    if "." not in name or name in RESERVED_NAMES or name.replace(".", "").isdigit():  # (digits: rule 1)
        return True
    return name.endswith(RESERVED_SUFFIXES) or any(name.endswith("." + n) for n in RESERVED_NAMES)


def scan_line(path: str, number: int, line: str) -> list[Finding]:
    """The findings of one line (rules 1 to 3 of the module docstring)."""
    found: list[Finding] = []
    sends = TRAFFIC.search(line) is not None
    for literal, network in _literals(line):
        if network in EVERYTHING or _within(network, INSIDE):
            continue
        if _within(network, DOCUMENTATION):
            if sends:
                found.append(
                    Finding(path, number, literal, "documentation address on a line that sends traffic")
                )
            continue
        if any(p == path and a == literal for p, a, _ in THIRD_PARTY):
            continue
        found.append(
            Finding(path, number, literal, "not an address of the machine or the tests' own networks")
        )
    if sends:
        for match in URL_HOST.finditer(line):
            host = match.group(1)
            if _network(host) is None and not _name_allowed(host):
                found.append(Finding(path, number, host, "a public name on a line that sends traffic"))
    return found


def _files() -> Iterator[tuple[str, str]]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT)
            if not path.is_file() or any(
                part.startswith(".") or part == "__pycache__" for part in relative.parts
            ):
                continue
            try:
                yield relative.as_posix(), path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # not text


def test_no_test_or_benchmark_aims_at_a_public_address() -> None:
    findings = [
        finding
        for path, text in _files()
        for number, line in enumerate(text.splitlines(), start=1)
        for finding in scan_line(path, number, line)
    ]
    assert not findings, "traffic targets outside the machine:\n" + "\n".join(map(str, findings))


def test_every_third_party_exception_still_matches() -> None:
    texts = dict(_files())
    for path, address, _ in THIRD_PARTY:
        assert address in texts.get(path, ""), f"stale THIRD_PARTY entry: {address} is no longer in {path}"


# The scanner itself: public literals are assembled here, so that this file holds none.
PUBLIC = ".".join(("1", "1", "1", "1"))
PUBLIC_NET = ".".join(("8", "8", "0", "0")) + "/16"
PUBLIC_V6 = ":".join(("2606", "4700", "", "1111"))


@pytest.mark.parametrize(
    "line",
    [
        f'_blocked(harness, a, "client", "http://{PUBLIC}/")',
        f"nc -w 2 {PUBLIC} 80",
        f'address_pool = "{PUBLIC_NET}"',  # data, but public: refused everywhere
        f'External("{PUBLIC}")',
        f"ping -c 1 {PUBLIC_V6}",
        "wget -qO- http://192.0.2" + ".1/",  # documentation address, dialled (split: see PUBLIC)
        'probe.Target("203.0.113' + '.9", 80)',
        "curl -s https://" + "www.kernel" + ".org/",  # a public name, dialled
        f"{PUBLIC}:80 is fine, says this line",
    ],
)
def test_the_scanner_finds_public_targets(line: str) -> None:
    assert scan_line("tests/x.py", 1, line), line


@pytest.mark.parametrize(
    "line",
    [
        'serve(host="127.0.0.1", port=0)',
        "nc -w 1 10.1.2.3 9000",
        '{"address_pool": "10.214.0.0/16"}',
        'cidrs: ["0.0.0.0/0"], except: ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16"]',
        'assert endpoint.url == "tcp://192.0.2.5:31443"',  # documentation address as data
        'PARTNER_API = External("198.51.100.7")',
        '{"Subnet": "fd00::/64"}, "::1", values[::2], values[1::]',
        "wget -qO- http://web:8080/ http://web.team-a.svc.cluster.local/ http://lb.example/",
        "version: 1.36.1, image: busybox:1.36",
        "fe80::1%eth0 2001:db8::7",
    ],
)
def test_the_scanner_lets_the_machine_and_data_pass(line: str) -> None:
    assert scan_line("tests/x.py", 1, line) == [], line


def test_a_third_party_exception_is_bound_to_its_file() -> None:
    path, address, _ = THIRD_PARTY[0]
    assert scan_line(path, 1, f"attack_source: {address}") == []
    assert scan_line("tests/elsewhere.yml", 1, f"attack_source: {address}")
