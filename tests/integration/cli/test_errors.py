"""Findings 3 and 4: malformed files are named with line and column, exit codes say what happened, and
the CLI never shows a traceback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli.helpers import federange, flat, invoke
from tests.support.live import free_port

BROKEN_YAML = "slug: ee-range\nname: Estonian range\ncapacity: {cpu_millicores: 4000, slots: [\n"
BROKEN_JSON = '{\n  "slug": "ee-range",\n  "name": "Estonian range",\n  "capacity": {"slots": 4,}\n}\n'

FILE_COMMANDS = [
    ["ranges", "register", "-f"],
    ["ranges", "update", "ee-range", "-f"],
    ["exercise", "plan", "-f"],
    ["exercise", "create", "-f"],
    ["bookings", "create", "-f"],
]


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_malformed_yaml_file_is_named_with_line_and_column(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "request.yaml"
    path.write_text(BROKEN_YAML)
    result = invoke(*command, str(path), env={"FEDERANGE_TOKEN": "t"})
    assert result.exit_code == 2, result.output  # a usage error: nothing was sent
    text = flat(result.output)
    assert "request.yaml, line 4, column 1: not valid YAML" in text, result.output
    assert "Traceback" not in result.output


def test_a_malformed_json_file_is_named_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "booking.json"
    path.write_text(BROKEN_JSON)
    result = invoke("bookings", "create", "-f", str(path), env={"FEDERANGE_TOKEN": "t"})
    assert result.exit_code == 2
    assert "booking.json, line 4, column 27: not valid JSON" in flat(result.output)


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "range.yaml"
    path.write_text("- slug: ee-range\n")
    result = invoke("ranges", "register", "-f", str(path), env={"FEDERANGE_TOKEN": "t"})
    assert result.exit_code == 2
    assert "expected a mapping, found a list" in flat(result.output)


def test_the_real_process_shows_no_traceback_for_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "exercise.yaml"
    path.write_text("scenario: ctf-starter\nteams:\n  - name: red\n   country: EE\n")
    done = federange("exercise", "plan", "-f", str(path), env={"FEDERANGE_TOKEN": "t"})
    assert done.returncode == 2
    assert "exercise.yaml, line 4, column 4" in flat(done.stderr)
    assert "Traceback" not in done.stderr + done.stdout


def test_an_unreachable_server_exits_3_and_says_how_to_start_one() -> None:
    port = free_port("127.0.0.1")
    done = federange("ranges", "list", "--url", f"http://127.0.0.1:{port}", "--token", "t")
    assert done.returncode == 3
    assert f"Cannot reach Federange at http://127.0.0.1:{port}" in done.stderr
    assert "federange server" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_or_refused_token_names_federange_token_and_the_option(api_url: str) -> None:
    missing = invoke("ranges", "list", "--url", api_url)
    assert missing.exit_code == 1
    assert "no token was given" in missing.output
    assert "--token" in missing.output and "FEDERANGE_TOKEN" in missing.output
    refused = invoke("ranges", "list", "--url", api_url, "--token", "frt_not-a-real-token")
    assert refused.exit_code == 1
    assert "the token was not accepted" in refused.output and "FEDERANGE_TOKEN" in refused.output


class _NotFederange(http.server.BaseHTTPRequestHandler):
    """Answers every request with 200 and a JSON body no Federange sends."""

    def do_GET(self) -> None:
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_federange() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFederange)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_error_nobody_handled_is_one_line_and_exit_4(not_federange: str) -> None:
    done = federange("ranges", "list", "--url", not_federange, "--token", "t")
    assert done.returncode == 4
    assert "internal error" in done.stderr and "FEDERANGE_DEBUG=1" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    debug = federange("ranges", "list", "--url", not_federange, "--token", "t", env={"FEDERANGE_DEBUG": "1"})
    assert "Traceback" in debug.stderr  # for the bug report
