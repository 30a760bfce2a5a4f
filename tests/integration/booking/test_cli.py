"""`federange bookings ...` and `federange ranges calendar` against a live server over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.domain.clock import FrozenClock
from orchestrator.wiring import Services
from tests.integration.booking.helpers import federation

runner = CliRunner()
START, END = "2030-03-04T09:00:00Z", "2030-03-04T13:00:00Z"


@pytest.fixture
def fed_env(services: Services, http: httpx.Client, admin_token: str, api_url: str) -> dict[str, object]:
    services.clock = FrozenClock(datetime(2030, 3, 1, 8, 0, tzinfo=UTC))
    fed = federation(http, admin_token, fi_policy={"approval_required": True})
    return {"fed": fed, "url": api_url}


def cli(env: dict[str, object], token: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"FEDERANGE_URL": str(env["url"]), "FEDERANGE_TOKEN": token})
    return result.exit_code, result.output


def test_booking_lifecycle_from_the_command_line(fed_env: dict[str, object], admin_token: str) -> None:
    fed = fed_env["fed"]
    trainer, fi_ops = fed.trainer, fed.fi_ops  # type: ignore[attr-defined]
    code, out = cli(
        fed_env, trainer, "bookings", "create", "-r", "ee-range", "-r", "fi-range",
        "--cpu", "4000", "--memory", "8192", "--slots", "2", "--start", START, "--end", END,
        "--purpose", "manual", "--reference", "exercise-9", "--request-id", "ex-9", "--json",
    )  # fmt: skip
    assert code == 0, out
    made = json.loads(out)
    ee, fi = made["bookings"]
    assert (ee["status"], fi["status"]) == ("held", "pending_approval")

    code, out = cli(
        fed_env, trainer, "bookings", "create", "-r", "ee-range", "-r", "fi-range",
        "--cpu", "4000", "--memory", "8192", "--slots", "2", "--start", START, "--end", END,
        "--request-id", "ex-9",
    )  # fmt: skip
    assert code == 0 and "repeat of an earlier request" in out

    code, out = cli(fed_env, trainer, "bookings", "confirm", "ex-9", "--request")
    assert code == 0, out
    assert "ee-range: booking" in out and "confirmed" in out and "pending_approval" in out
    code, out = cli(fed_env, fi_ops, "bookings", "approve", fi["id"])
    assert code == 0 and "is confirmed" in out

    code, out = cli(fed_env, trainer, "bookings", "renew", ee["id"], "--extend", "2h", "--json")
    assert code == 0, out
    assert json.loads(out)["end"] == "2030-03-04T15:00:00Z"

    code, out = cli(
        fed_env, trainer, "bookings", "create", "-r", "fi-range", "--cpu", "16000",
        "--start", START, "--duration", "4h",
    )  # fmt: skip
    assert code == 1
    assert "Refused (409)" in out
    assert "- fi-range: free 12000 cpu millicores < 16000 needed at 2030-03-04T09:00:00+00:00" in out

    code, out = cli(fed_env, trainer, "bookings", "list", "--status", "confirmed")
    assert code == 0 and "Bookings (2 in all)" in out
    code, out = cli(fed_env, trainer, "bookings", "show", ee["id"])
    assert code == 0 and "exercise-9" in out

    code, out = cli(fed_env, fi_ops, "bookings", "decline", fi["id"], "--reason", "too late")
    assert code == 1 and "only bookings pending approval are approved or declined" in out

    code, out = cli(
        fed_env, fi_ops, "ranges", "calendar", "fi-range", "--start", "2030-03-04T05:00:00Z",
        "--end", "2030-03-04T15:00:00Z", "--step", "2h",
    )  # fmt: skip
    assert code == 0, out
    assert "Free capacity of fi-range" in out
    assert "12000/16000" in out and "16000/16000" in out  # free before 09:00, booked after
    assert "Bookings on fi-range in the window" in out
    code, out = cli(
        fed_env, fi_ops, "ranges", "calendar", "fi-range", "--start", "2030-03-04T05:00:00Z", "--json",
    )  # fmt: skip
    calendar = json.loads(out)
    assert len(calendar["availability"]["slots"]) == 24  # a day of hours by default
    assert [b["id"] for b in calendar["bookings"]] == [fi["id"]]  # the operator sees its range's bookings

    code, out = cli(fed_env, trainer, "bookings", "cancel", "ex-9", "--request", "--reason", "moved")
    assert code == 0 and "cancelled" in out

    school = fed.school_org  # type: ignore[attr-defined]
    quota = ["bookings", "quota", "set", school, "--cpu", "8000", "--memory", "16384", "--slots", "4"]
    code, out = cli(fed_env, admin_token, *quota)
    assert code == 0 and "quota set" in out
    code, out = cli(fed_env, trainer, "bookings", "quota", "show", school, "--json")
    assert json.loads(out)["limit"]["cpu_millicores"] == 8000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bookings", "create", "-r", "ee", "--start", "tomorrow", "--duration", "1h"], "not an RFC 3339"),
        (["bookings", "create", "-r", "ee", "--start", START, "--duration", "soon"], "not a duration"),
        (["bookings", "renew", "x", "--end", END, "--extend", "1h"], "exactly one of --end and --extend"),
        (["ranges", "calendar", "ee-range", "--step", "1w"], "not a duration"),
    ],
)  # fmt: skip
def test_cli_rejects_bad_input_with_the_reason(args: list[str], message: str) -> None:
    result = runner.invoke(app, args, env={"FEDERANGE_URL": "http://127.0.0.1:9", "FEDERANGE_TOKEN": "x"})
    assert result.exit_code == 2
    assert message in result.output
