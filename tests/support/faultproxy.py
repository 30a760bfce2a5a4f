"""A real HTTP proxy in front of the Docker engine's unix socket (or any HTTP server on 127.0.0.1, such as
a Federange peer) that injects faults for chosen requests.

Listens on 127.0.0.1 (an ephemeral port); a connector pointed at `tcp://127.0.0.1:<port>` speaks plain
HTTP to it and the proxy relays every request to the engine, one request per connection (it adds
`Connection: close` so the end of each response is the end of the stream). A rule matches a method and
a path pattern and, for its next `times` matching requests, answers with an engine-style HTTP error,
holds the request for `delay` seconds before relaying it (so the engine acts after the client gave up),
drops the connection without an answer, or holds it and then drops it (the engine never sees it). When
the proxy stops, held requests are dropped, never relayed late. Every request seen is in `seen`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ERROR = "error"
DELAY = "delay"
DROP = "drop"
HANG = "hang"  # hold the request for `delay` seconds, then drop it unanswered (never relayed)


@dataclass
class Rule:
    method: str
    path: str  # a regular expression searched in the request path (with query)
    action: str = ERROR
    times: int = 1
    status: int = 500
    message: str = "injected engine failure"
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.search(self.path, path) is not None


@dataclass
class FaultProxy:
    upstream: str  # path of the engine's unix socket, or `host:port` of a TCP server (a Federange peer)
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, what happened)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.seen if m == method and re.search(path, p))

    def _decide(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    rule.hits += 1
                    self.seen.append((method, path, rule.action))
                    return rule
            self.seen.append((method, path, "relayed"))
        return None

    def handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(60)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            rule = self._decide(method, path)
            if rule is not None and rule.action == DROP:
                return
            if rule is not None and rule.action == ERROR:
                body = json.dumps({"message": rule.message}).encode()
                client.sendall(
                    f"HTTP/1.1 {rule.status} Injected\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                return
            held = rule is not None and rule.action in (DELAY, HANG)
            if held and rule is not None and (self.stopping.wait(rule.delay) or rule.action == HANG):
                return
            kept = [line for line in lines[1:] if not line.lower().startswith("connection:")]
            request = "\r\n".join([lines[0], *kept, "Connection: close"]).encode("latin-1") + b"\r\n\r\n"
            self._relay(client, request + rest)

    def _upstream(self) -> socket.socket:
        if self.upstream.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(120)
            sock.connect(self.upstream)
            return sock
        host, _, port = self.upstream.rpartition(":")
        return socket.create_connection((host, int(port)), timeout=120)

    def _relay(self, client: socket.socket, first: bytes) -> None:
        try:
            upstream = self._upstream()
        except OSError:
            return  # the upstream is down: the client sees the connection close unanswered
        with upstream as engine:
            engine.sendall(first)

            def upload() -> None:
                try:
                    while chunk := client.recv(65536):
                        engine.sendall(chunk)
                except OSError:
                    return

            pump = threading.Thread(target=upload, daemon=True)
            pump.start()
            try:
                while chunk := engine.recv(65536):
                    client.sendall(chunk)
            except OSError:
                return


@contextmanager
def fault_proxy(upstream: str = "/var/run/docker.sock") -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream=upstream)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    proxy.port = server.getsockname()[1]
    stopping = proxy.stopping

    def serve() -> None:
        while not stopping.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=proxy.handle, args=(client,), daemon=True).start()

    thread = threading.Thread(target=serve, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        stopping.set()
        thread.join(timeout=5)
        server.close()
