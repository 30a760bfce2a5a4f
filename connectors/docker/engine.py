"""One Docker engine as the connector talks to it: a low-level API client with bounded retries.

Retry rule: a request that failed for a reason that may pass (connection refused or reset, a timeout,
an HTTP 5xx from the engine) is retried with exponential back-off, at most `retries` attempts; a 4xx is
the engine's answer (image not found, name in use, bad request) and goes back to the caller at once.
When the attempts run out the caller gets a `ConnectorError` naming what was being done, the engine and
the last error, so the reason reaches the instance unchanged and nothing waits forever: every request
is bounded by `api_timeout`.

Creating requests are not idempotent on the wire (a create whose answer was lost and is retried meets
its own object): the connector handles that through deterministic names (409 -> look the object up).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import docker
import docker.errors
import docker.tls
import requests.exceptions
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from connectors.base import ConnectorError
from connectors.docker.config import DockerConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Engine API version spoken: Docker 20.10's; later engines and Podman's compatible API accept it.
API_VERSION = "1.41"


def is_transient(exc: BaseException) -> bool:
    """Whether a failed request may succeed if repeated (connection trouble, timeouts, engine 5xx)."""
    if isinstance(exc, docker.errors.APIError):
        code = exc.status_code
        return code is None or code >= 500
    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout)


def status_code(exc: BaseException) -> int | None:
    if isinstance(exc, docker.errors.APIError):
        code: int | None = exc.status_code
        return code
    return None


def explain(exc: BaseException) -> str:
    """The engine's own words for a failure, without the SDK's URL noise."""
    if isinstance(exc, docker.errors.APIError):
        text = exc.explanation
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        code = exc.status_code
        return f"{text or exc} (HTTP {code})" if code else str(text or exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer in time ({type(exc).__name__})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection failed ({exc.__class__.__name__}: {str(exc)[:200]})"
    return f"{type(exc).__name__}: {exc}"


def _write_tls_material(config: DockerConfig) -> tuple[Path, docker.tls.TLSConfig]:
    """The SDK reads TLS material from files: write it to a private directory for this client."""
    folder = Path(tempfile.mkdtemp(prefix="federange-docker-tls-"))
    os.chmod(folder, 0o700)
    paths: dict[str, str] = {}
    for name, text in (("ca.pem", config.tls_ca), ("cert.pem", config.tls_cert), ("key.pem", config.tls_key)):
        if text:
            path = folder / name
            path.write_text(text, encoding="utf-8")
            os.chmod(path, 0o600)
            paths[name] = str(path)
    client_cert = (paths["cert.pem"], paths["key.pem"]) if "cert.pem" in paths else None
    tls = docker.tls.TLSConfig(
        client_cert=client_cert,
        ca_cert=paths.get("ca.pem"),
        verify=config.tls_verify and "ca.pem" in paths,
    )
    return folder, tls


class Engine:
    """The API client for one range, with `call` wrapping each request in the retry rule."""

    def __init__(self, config: DockerConfig, *, max_pool_size: int = 10) -> None:
        self.config = config
        tls: docker.tls.TLSConfig | bool = False
        if config.uses_tls:
            folder, tls = _write_tls_material(config)
            weakref.finalize(self, shutil.rmtree, folder, True)
        self._tls = tls
        self.api = self.client(timeout=config.api_timeout, max_pool_size=max_pool_size)

    def client(self, *, timeout: float, max_pool_size: int = 1) -> docker.APIClient:
        """A new API client for this engine (the connector's own, or one for a long streaming request
        that needs another timeout); the caller closes it."""
        base_url = self.config.base_url
        if self._tls and base_url.startswith("tcp://"):
            base_url = "https://" + base_url.removeprefix("tcp://")
        return docker.APIClient(
            base_url=base_url,
            version=API_VERSION,
            timeout=timeout,
            tls=self._tls,
            max_pool_size=max_pool_size,
        )

    def close(self) -> None:
        self.api.close()

    def call(
        self,
        what: str,
        request: Callable[[], T],
        *,
        attempts: int | None = None,
        answer: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Run one engine request under the retry rule; `what` names it in logs and errors.

        Raises the SDK's APIError for a 4xx (callers turn 404/409 into decisions), and for any error
        `answer` recognises as the engine's decision rather than a failure (e.g. Podman answers a subnet
        clash with a 500); ConnectorError (retryable) when a transient failure outlasted the attempts.
        """
        budget = attempts or self.config.retries

        def retryable(exc: BaseException) -> bool:
            return is_transient(exc) and not (answer is not None and answer(exc))

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.warning(
                "docker engine %s: %s failed (attempt %s of %s): %s",
                self.config.base_url,
                what,
                state.attempt_number,
                budget,
                explain(exc) if exc else "?",
            )

        retrying = Retrying(
            stop=stop_after_attempt(budget),
            wait=wait_exponential(multiplier=self.config.retry_wait, max=2.0),
            retry=retry_if_exception(retryable),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(request)
        except docker.errors.APIError as exc:
            if retryable(exc):
                raise self.gave_up(what, exc, budget) from exc
            raise
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self.gave_up(what, exc, budget) from exc

    def gave_up(self, what: str, exc: BaseException, attempts: int) -> ConnectorError:
        return ConnectorError(
            f"{what}: Docker engine at {self.config.base_url} failed {attempts} time(s), "
            f"last error: {explain(exc)}",
            retryable=True,
        )

    def refused(self, what: str, exc: BaseException) -> ConnectorError:
        """A ConnectorError for a 4xx answer the caller cannot turn into a decision."""
        return ConnectorError(f"{what}: Docker engine at {self.config.base_url} refused: {explain(exc)}")
