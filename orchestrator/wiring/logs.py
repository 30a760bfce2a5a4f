"""How a Federange process logs: human lines by default, one JSON object per line when configured.

FEDERANGE_LOG_FORMAT=json writes each event as one line: time, level, logger, message, the traceback
(when there is one) as one field, and the ids of what the event is about (exercise_id, instance_id,
range_id, action_id, action_kind) from two places: `extra={...}` of the call, and the context of the due
action the thread is running (`action_context`), so a connector's message names its instance without
the connector knowing Federange's ids.

The idle scheduler is quiet at INFO: APScheduler's own lines are kept to errors, and a tick that did
nothing logs nothing.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

IDS = ("exercise_id", "instance_id", "range_id", "booking_id", "action_id", "action_kind")
_context: ContextVar[Mapping[str, str]] = ContextVar("federange_log_context", default={})  # noqa: B039
#: Libraries whose lines say nothing an operator needs: APScheduler logs every job run at INFO, and at
#: WARNING each tick skipped because the previous one still runs (ticks are coalesced: that is by design).
QUIET = {"apscheduler": logging.ERROR, "httpx": logging.WARNING, "alembic.runtime": logging.WARNING}


@contextmanager
def action_context(**ids: str) -> Iterator[None]:
    """Name what this thread is working on in every log event it writes until the block ends."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds the ids of the current `action_context` to each record (an `extra` of the call wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in IDS:
            value = getattr(record, key, None)
            if value:
                event[key] = str(value)
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            event["stack"] = record.stack_info
        return json.dumps(event, ensure_ascii=False, default=str)


class HumanFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{k}={getattr(record, k)}" for k in IDS if getattr(record, k, None))
        if not ids:
            return line
        head, newline, rest = line.partition("\n")  # the ids on the event's line, before a traceback
        return f"{head} [{ids}]{newline}{rest}"


def configure(*, fmt: str = "human", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log event to `stream` (stderr) in `fmt` (human or json) from `level` up; replaces the
    root logger's handlers (uvicorn's loggers propagate to it: one format for the whole process)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else HumanFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate = True
