"""Mutual TLS between Federange instances: a real `federange server` peer serving HTTPS with
FEDERANGE_TLS_CERT_FILE / _KEY_FILE and FEDERANGE_TLS_CLIENT_CA_FILE, and the hub's `federation`
connector with `tls_ca` and a client certificate (`tls_cert` + `tls_key`). The certificates are made
here (a CA, a server certificate for 127.0.0.1, client certificates from that CA and from another)."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from connectors.base import ConfigInvalid, ConnectorError
from connectors.federation.connector import FederationConnector
from connectors.schema import json_schema
from tests.integration.federation.world import National, national
from tests.support.databases import fresh_database
from tests.support.federation import FederangeProcess, stop, wait_for
from tests.support.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("federation")]

PEER = "lv-hub"


@dataclass(frozen=True)
class Issued:
    cert: str  # PEM
    key: str  # PEM (PKCS#8, unencrypted)


class Authority:
    """A certificate authority of this test."""

    def __init__(self, name: str) -> None:
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, common_name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(
            cert=cert.public_bytes(serialization.Encoding.PEM).decode(),
            key=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        )


@dataclass(frozen=True)
class Setting:
    peer: National
    ca: Authority
    hub_client: Issued
    stranger: Issued  # a client certificate from another CA


def _client_context(ca: Authority, issued: Issued, folder: Path) -> ssl.SSLContext:
    """The test's own TLS context (its admin calls to the peer present a client certificate too)."""
    (folder / "client.pem").write_text(issued.cert)
    (folder / "client.key").write_text(issued.key)
    context = ssl.create_default_context(cadata=ca.pem)
    context.load_cert_chain(folder / "client.pem", folder / "client.key")
    return context


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    tmp = tmp_path_factory.mktemp("mtls")
    ca = Authority("Federange test CA")
    server = ca.issue("lv.federange.test", server=True)
    files = tmp / "tls"
    files.mkdir()
    (files / "server.pem").write_text(server.cert)
    (files / "server.key").write_text(server.key)
    (files / "clients-ca.pem").write_text(ca.pem)
    env = {
        "FEDERANGE_TLS_CERT_FILE": str(files / "server.pem"),
        "FEDERANGE_TLS_KEY_FILE": str(files / "server.key"),
        "FEDERANGE_TLS_CLIENT_CA_FILE": str(files / "clients-ca.pem"),
    }
    tests_own = _client_context(ca, ca.issue("federange test", server=False), files)
    with ExitStack() as stack:
        peer = national(
            stack,
            tmp,
            PEER,
            "LV",
            backend="sqlite",
            slots=2,
            hold_ttl=600,
            proxy=False,
            env=env,
            tls=tests_own,
        )
        yield Setting(
            peer=peer,
            ca=ca,
            hub_client=ca.issue("eu-hub", server=False),
            stranger=Authority("Another CA").issue("eu-hub", server=False),
        )


def _connector(setting: Setting, **tls: str) -> FederationConnector:
    config: dict[str, Any] = {
        "base_url": setting.peer.process.url,
        "token": setting.peer.peer_token,
        "peer": PEER,
        "timeout_seconds": 5,
        **tls,
    }
    return FederationConnector(config)


def _refusal(connector: FederationConnector) -> str:
    try:
        with pytest.raises(ConnectorError) as refused:
            connector.handshake()
    finally:
        connector.close()
    assert refused.value.retryable
    return refused.value.reason


def test_the_peer_serves_https_only(setting: Setting) -> None:
    assert setting.peer.process.url.startswith("https://127.0.0.1:")
    with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port: no answer to read
        httpx.get(f"http://127.0.0.1:{setting.peer.process.port}/health", timeout=5)


def test_the_hub_with_the_ca_and_a_client_certificate_shakes_hands_and_reads_the_published_ranges(
    setting: Setting,
) -> None:
    connector = _connector(
        setting, tls_ca=setting.ca.pem, tls_cert=setting.hub_client.cert, tls_key=setting.hub_client.key
    )
    try:
        hello = connector.handshake()
        assert hello["api"] == "federation/v1" and hello["name"] == PEER and hello["country"] == "LV"
        assert [r["slug"] for r in connector.published_ranges()] == [setting.peer.range_slug]
    finally:
        connector.close()


def test_without_a_client_certificate_the_peer_refuses_at_the_tls_layer_and_the_reason_names_it(
    setting: Setting,
) -> None:
    reason = _refusal(_connector(setting, tls_ca=setting.ca.pem))
    assert reason.startswith(f"peer {PEER} unreachable: it closed the TLS connection without answering")
    assert "mutual TLS" in reason and "we presented none (no tls_cert and tls_key configured)" in reason
    probe = _connector(setting, tls_ca=setting.ca.pem)
    probe.range = setting.peer.range_slug
    found = probe.probe()
    probe.close()
    assert not found.healthy and found.reason.startswith(f"peer {PEER} unreachable"), found.reason


def test_a_client_certificate_from_another_ca_is_refused(setting: Setting) -> None:
    reason = _refusal(
        _connector(
            setting, tls_ca=setting.ca.pem, tls_cert=setting.stranger.cert, tls_key=setting.stranger.key
        ),
    )
    assert reason.startswith(f"peer {PEER} unreachable: it closed the TLS connection without answering")
    assert "a client certificate it does not accept; we presented ours" in reason, reason


def test_a_peer_whose_certificate_the_given_ca_did_not_sign_is_refused_by_the_hub(setting: Setting) -> None:
    other = Authority("Not the peer's CA")
    reason = _refusal(
        _connector(
            setting, tls_ca=other.pem, tls_cert=setting.hub_client.cert, tls_key=setting.hub_client.key
        ),
    )
    assert reason.startswith(f"peer {PEER} unreachable: the TLS handshake failed"), reason
    assert "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed" in reason and "_ssl.c" not in reason


def test_the_client_key_is_secret_goes_with_its_certificate_and_needs_https(setting: Setting) -> None:
    client = setting.hub_client
    schema = json_schema(FederationConnector.config_schema)["properties"]
    assert schema["tls_key"].get("writeOnly") is True and not schema["tls_cert"].get("writeOnly")
    connector = _connector(setting, tls_ca=setting.ca.pem, tls_cert=client.cert, tls_key=client.key)
    assert client.key not in repr(connector.config)
    with pytest.raises(ConfigInvalid, match="tls_cert and tls_key go together"):
        _connector(setting, tls_cert=client.cert)
    with pytest.raises(ConfigInvalid, match="https://"):
        FederationConnector({"base_url": "http://127.0.0.1:1", "token": "t", "tls_ca": setting.ca.pem})
    broken = _connector(setting, tls_ca=setting.ca.pem, tls_cert=client.cert, tls_key=setting.stranger.key)
    with pytest.raises(ConnectorError, match=f"peer {PEER}: unusable TLS material"):
        broken.handshake()
    broken.close()


def test_the_api_with_worker_processes_serves_the_same_mutual_tls(setting: Setting) -> None:
    """`federange api --workers 2` listens on its own socket (the TCP_NODELAY one): TLS applies there too."""
    process = setting.peer.process
    port = free_port()
    log = process.data_dir / "api-workers.log"
    with log.open("ab") as out:
        api = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "api", "--workers", "2", "--port", str(port)],
            env=process.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"https://127.0.0.1:{port}"
        wait_for(
            lambda: _answers(f"{url}/health", process.tls),
            timeout=60,
            what=f"the API workers over TLS ({log.read_text()[-2000:]})",
        )
        connector = FederationConnector(
            {
                "base_url": url,
                "token": setting.peer.peer_token,
                "peer": PEER,
                "tls_ca": setting.ca.pem,
                "tls_cert": setting.hub_client.cert,
                "tls_key": setting.hub_client.key,
            }
        )
        assert connector.handshake()["name"] == PEER
        connector.close()
        unknown = FederationConnector(
            {"base_url": url, "token": setting.peer.peer_token, "peer": PEER, "tls_ca": setting.ca.pem}
        )
        with pytest.raises(ConnectorError, match="closed the TLS connection without answering"):
            unknown.handshake()
        unknown.close()
    finally:
        stop(api)


def _answers(url: str, tls: ssl.SSLContext | None) -> bool:
    try:
        return httpx.get(url, timeout=2, verify=tls or True).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_hub_adds_the_peer_with_its_client_certificate_and_not_without_one(
    setting: Setting, tmp_path: Path
) -> None:
    """The user's path: `federange peers add --tls-ca --tls-cert --tls-key` on a real hub imports the
    peer's published ranges over mutual TLS; the key is never shown again; without a client certificate
    the hub refuses to add the peer and says why, naming the field."""
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database("sqlite", tmp_path / "eu"))
        hub = FederangeProcess(name="eu-hub", country="BE", database_url=url, data_dir=tmp_path / "eu")
        hub.setup()
        hub.start()
        stack.callback(hub.stop)
        peer = setting.peer
        refused = hub.call(
            "POST",
            "/api/v1/peers",
            json={
                "name": PEER,
                "base_url": peer.process.url,
                "token": peer.peer_token,
                "tls_ca": setting.ca.pem,
            },
        )
        assert refused.status_code == 422, refused.text
        (problem,) = refused.json()["errors"]
        assert problem["field"] == "base_url" and "presented none" in problem["reason"], problem
        files = {"ca": setting.ca.pem, "cert": setting.hub_client.cert, "key": setting.hub_client.key}
        for name, pem in files.items():
            (tmp_path / f"{name}.pem").write_text(pem)
        added = subprocess.run(
            [
                *(sys.executable, "-m", "orchestrator.cli", "peers", "add", PEER),
                *("--peer-url", peer.process.url, "--peer-token", peer.peer_token),
                *("--tls-ca", str(tmp_path / "ca.pem"), "--tls-cert", str(tmp_path / "cert.pem")),
                *("--tls-key", str(tmp_path / "key.pem"), "--url", hub.url, "--token", hub.admin),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert added.returncode == 0, added.stdout + added.stderr
        assert f"ranges {peer.range_slug}" in added.stdout
        listed = hub.call("GET", "/api/v1/peers")
        assert listed.status_code == 200
        (shown,) = listed.json()
        assert shown["mutual_tls"] is True and not shown["sync_error"]
        assert "PRIVATE KEY" not in listed.text and "tls_key" not in listed.text
        ranges = hub.made("GET", "/api/v1/ranges")["items"]
        assert peer.range_slug in [r["slug"] for r in ranges]
        assert "PRIVATE KEY" not in hub.call("GET", f"/api/v1/ranges/{peer.range_slug}").text
        synced = hub.call("POST", f"/api/v1/peers/{PEER}/sync")  # the stored material is used again
        assert synced.status_code == 200 and not synced.json()["sync_error"], synced.text
