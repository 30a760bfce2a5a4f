"""A Kubernetes-API HTTP server for tests: real HTTP/1.1 on 127.0.0.1 (keep-alive, chunked watch
streams), bearer-token auth with per-token RBAC rules (rbac.py), a request log, and fault injection
(status codes with Retry-After, and latency) by method and path.

    with KubeApiServer() as api:
        connector = KubernetesConnector(api.connector_config())
        api.faults.add(method="PATCH", path=r"/deployments/target$", status=500, times=2)
        ...

Why not kmock or mockernetes: kmock's Kubernetes emulator (0.8) keeps objects as merged dicts without
server-side apply (an apply PATCH on an absent object is a 404, not a create), label or field selectors,
resourceVersions to watch from, or namespace deletion; mockernetes has no release on the package index
here. Neither simulates the controllers and kubelet a readiness test needs. This double is small and
says what it simplifies (see merging.py and cluster.py).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.support.kube_api.api import KubeApi, Reply
from tests.support.kube_api.cluster import Cluster
from tests.support.kube_api.kubelet import NodeSpec, Timing
from tests.support.kube_api.podexec import EXEC_PATH, ExecHandler, serve_exec
from tests.support.kube_api.rbac import Attributes, Rule, forbidden_message
from tests.support.kube_api.status import Fail, status_body
from tests.support.kube_api.store import Store

log = logging.getLogger(__name__)

TOKEN = "federange-test-token"


@dataclass
class Fault:
    path: re.Pattern[str]
    method: str | None
    status: int | None
    times: int | None  # None: until cleared
    retry_after: float | None
    delay: float
    message: str
    hits: int = 0


class Faults:
    """Scripted failures: the next `times` requests matching method and path (a regex searched in the
    URL path) wait `delay` seconds, then answer `status` (None: are served normally after the delay)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(
        self,
        *,
        path: str,
        method: str | None = None,
        status: int | None = 500,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        message: str = "injected fault",
    ) -> Fault:
        fault = Fault(re.compile(path), method, status, times, retry_after, delay, message)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def match(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._rules:
                if (fault.method is None or fault.method == method) and fault.path.search(path):
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._rules.remove(fault)
                    return fault
        return None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the client's
        # delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._finish(code)  # before answering: a client that has its answer finds its request logged
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        double = self.server.double
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        method = self.command
        self._request = (method, url.path, query)
        self._finished = False
        double.enter()
        try:
            if double.latency:
                time.sleep(double.latency)
            fault = double.faults.match(method, url.path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status is not None:
                    code = fault.status
                    headers = (
                        {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                    )
                    self._send(
                        code,
                        status_body(
                            code,
                            "InternalError"
                            if code >= 500
                            else "TooManyRequests"
                            if code == 429
                            else "Injected",
                            fault.message,
                        ),
                        headers,
                    )
                    return
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if double.token and not double.api.authorizer.knows(bearer):
                self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
                return
            token = bearer if double.token else None
            exec_target = EXEC_PATH.match(url.path)
            if exec_target is not None and self.headers.get("Upgrade", "").lower() == "websocket":
                namespace, pod = exec_target.groups()
                attributes = Attributes(
                    "create", "", "pods", subresource="exec", namespace=namespace, name=pod
                )
                if token is not None and not double.api.authorizer.allowed(token, attributes):
                    self._send(403, status_body(403, "Forbidden", forbidden_message(token, attributes)))
                    return
                self._exec(namespace, pod, query)
                return
            try:
                result = double.api.handle(
                    method, url.path, query, self.headers.get("Content-Type", ""), body, token=token
                )
            except Fail as fail:
                self._send(fail.code, status_body(fail.code, fail.reason, fail.message))
                return
            except Exception as exc:  # a bug in the double answers like a broken server, not by hanging up
                log.exception("the API double failed on %s %s", method, url.path)
                self._send(500, status_body(500, "InternalError", f"API double bug: {exc!r}"))
                return
            if isinstance(result, Reply):
                self._send(result.code, result.body)
                return
            self._finish(200)  # a watch counts as answered once it streams (max_inflight counts calls)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in result.events:
                data = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self._finish(200)

    def _exec(self, namespace: str, pod: str, query: dict[str, list[str]]) -> None:
        double = self.server.double
        entry = double.store.get(("Pod", namespace, pod))
        found = entry.obj if entry is not None else None
        if double.exec_handler is None:
            self._send(400, status_body(400, "BadRequest", "this API double runs no commands"))
            return
        if found is None or (found.get("status") or {}).get("phase") != "Running":
            self._send(404, status_body(404, "NotFound", f'pods "{pod}" not found or not running'))
            return
        self._finish(101)
        serve_exec(self, namespace=namespace, pod=pod, query=query, run=double.exec_handler)

    def _finish(self, code: int) -> None:
        """Log the request and stop counting it as in flight (once)."""
        if self._finished:
            return
        self._finished = True
        method, path, query = self._request
        self.server.double.leave()
        self.server.double.record(Request(method, path, query, code))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    double: KubeApiServer


class KubeApiServer:
    def __init__(
        self,
        *,
        nodes: list[NodeSpec] | None = None,
        timing: Timing | None = None,
        validate: bool = True,
        latency: float = 0.0,
        token: str = TOKEN,
        port: int = 0,
        history: int = 20_000,
    ) -> None:
        self.store = Store(history=history)
        self.cluster = Cluster(
            self.store,
            nodes=nodes or [NodeSpec("node-1", "192.0.2.11"), NodeSpec("node-2", "192.0.2.12")],
            timing=timing or Timing(),
        )
        self.api = KubeApi(self.store, self.cluster, validate=validate)
        self.faults = Faults()
        self.latency = latency
        #: The cluster-admin token (empty: no authentication nor authorisation at all).
        self.token = token
        if token:
            self.api.authorizer.grant(token, None)
        self._requests: list[Request] = []
        self._requests_lock = threading.Lock()
        self._inflight = 0
        #: The most requests the server was answering at once (open watch streams not counted).
        self.max_inflight = 0
        #: What pods/exec runs (the double has no containers): see podexec.py; None refuses exec.
        self.exec_handler: ExecHandler | None = None
        self._http = _Server(("127.0.0.1", port), _Handler)
        self._http.double = self
        self._thread = threading.Thread(target=self._http.serve_forever, name="kube-api-http", daemon=True)
        self._seed()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def _seed(self) -> None:
        for name in ("default", "kube-system"):
            self.api.handle(
                "POST",
                "/api/v1/namespaces",
                {},
                "application/json",
                json.dumps({"metadata": {"name": name}}).encode(),
            )
        for index, node in enumerate(self.cluster.nodes):
            self.store.put(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": node.name, "labels": {"kubernetes.io/hostname": node.name}},
                    "spec": {"podCIDR": f"10.244.{index}.0/24"},
                    "status": {
                        "allocatable": {"cpu": node.cpu, "memory": node.memory, "pods": str(node.pods)},
                        "capacity": {"cpu": node.cpu, "memory": node.memory, "pods": str(node.pods)},
                        "conditions": [{"type": "Ready", "status": "True"}],
                        "addresses": [{"type": "InternalIP", "address": node.address}],
                        "nodeInfo": {"kubeletVersion": "v1.33.1"},
                    },
                }
            )
        self.store.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "coredns-0",
                    "namespace": "kube-system",
                    "labels": {"k8s-app": "kube-dns"},
                },
                "spec": {
                    "nodeName": self.cluster.nodes[0].name,
                    "containers": [
                        {
                            "name": "coredns",
                            "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                            "resources": {"requests": {"cpu": "100m", "memory": "70Mi"}},
                        }
                    ],
                },
                "status": {
                    "phase": "Running",
                    "podIP": "10.244.0.2",
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            }
        )

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> KubeApiServer:
        self.cluster.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.api.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self.cluster.stop()

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use -----------------------------------------------------------------------------

    def enter(self) -> None:
        with self._requests_lock:
            self._inflight += 1
            self.max_inflight = max(self.max_inflight, self._inflight)

    def leave(self) -> None:
        with self._requests_lock:
            self._inflight -= 1

    def record(self, request: Request) -> None:
        with self._requests_lock:
            self._requests.append(request)

    def requests(self, *, method: str | None = None, path: str = "") -> list[Request]:
        with self._requests_lock:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method) and re.search(path, r.path)
            ]

    def grant(self, token: str, rules: Sequence[Rule] | None) -> str:
        """Let `token` in with exactly these RBAC rules (None: everything); returns the token."""
        self.api.authorizer.grant(token, rules)
        return token

    def connector_config(self, *, token: str = "", **extra: Any) -> dict[str, Any]:
        return {"server": self.url, "token": token or self.token, **extra}

    def kubeconfig(self, *, token: str = "") -> str:
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "double",
                "clusters": [{"name": "double", "cluster": {"server": self.url}}],
                "users": [
                    {"name": "tester", "user": {"token": token or self.token} if token or self.token else {}}
                ],
                "contexts": [{"name": "double", "context": {"cluster": "double", "user": "tester"}}],
            }
        )

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.store.items(kind, namespace)
