"""The admission read's server time on PostgreSQL: the live function text against the texts before it.

    .venv/bin/python bench/admission_sql.py [--overlaps 0,1,3,10,30,300] [--calls 3000] [--quota]

Creates its own database on the server named by FEDERANGE_BENCH_POSTGRES_URL (default: the local test
server) and drops it afterwards. Three versions of `federange_admission_peek` (the admission read without
its locks, the body `federange_admission_read` runs after taking them) side by side, each in a schema of
its own, reading the same tables:
- 0017: the calendar booking by booking (as migration 0018 found it; no demand argument);
- 0018: the summed calendar as migration 0018 installed it;
- live: `orchestrator.db.calendar_sql.PEEK_FUNCTION`, what the head revision installs.

For each number of bookings in force at once on a range (one range each, every booking overlapping the
30-minute window), a PL/pgSQL loop on the server calls one version `--calls / 12` times and returns the
time per call; the versions take turns twelve times (the first turn is not counted) and the table gives
each one's median, so the client, the network and the machine's drift weigh on none. `--quota` gives the
owner a quota (large enough for everything), so the owner's calendar is read (and summed) too.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.booking import ADMIN_URL, ORG, T0, fill_busy, range_id, setup_schema
from orchestrator.db.calendar_sql import PEEK_FUNCTION

VERSIONS = ("0017", "0018", "live")
DEMAND = "ARRAY[100, 128, 1, 0]"
BIG = 2_000_000_000  # a quota nothing here reaches
#: Times `p_n` calls of one version's peek on the server (`p_version` names its schema).
TIMER = f"""
CREATE FUNCTION bench_time_peek(p_version text, p_ref varchar, p_start timestamptz, p_end timestamptz,
                                p_n integer) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    v_t0 timestamptz := clock_timestamp();
    v_rows bigint;
BEGIN
    FOR i IN 1..p_n LOOP
        IF p_version = '0017' THEN
            SELECT count(*) INTO v_rows
            FROM v0017.federange_admission_peek(ARRAY[p_ref], '{ORG}', p_start, p_end, p_start);
        ELSIF p_version = '0018' THEN
            SELECT count(*) INTO v_rows
            FROM v0018.federange_admission_peek(ARRAY[p_ref], '{ORG}', p_start, p_end, p_start, {DEMAND});
        ELSE
            SELECT count(*) INTO v_rows
            FROM vlive.federange_admission_peek(ARRAY[p_ref], '{ORG}', p_start, p_end, p_start, {DEMAND});
        END IF;
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - v_t0) * 1000.0 / p_n;
END
$$
"""


def _migration(name: str) -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "orchestrator/db/migrations/versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def texts() -> dict[str, str]:
    summed = _migration("0018_summed_calendars")
    return {"0017": summed._old()["peek"], "0018": summed._new()["peek"], "live": PEEK_FUNCTION}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--overlaps", default="0,1,3,10,30,300", help="bookings in force at once")
    parser.add_argument("--calls", type=int, default=3000, help="calls per version and size")
    parser.add_argument("--quota", action="store_true", help="the owner has a quota (its calendar read)")
    args = parser.parse_args()
    overlaps = [int(n) for n in args.overlaps.split(",")]
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"federange_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        setup_schema(url, ranges=len(overlaps) + 1)
        with engine.begin() as c:
            for version, function in texts().items():
                c.execute(text(f"CREATE SCHEMA v{version}"))
                c.execute(text(f"SET LOCAL search_path TO v{version}, public"))
                c.execute(text(function))
            c.execute(text("SET LOCAL search_path TO public"))
            c.execute(text(TIMER))
            if args.quota:
                c.execute(
                    text(
                        "INSERT INTO organisation_quotas VALUES (:o, 2000000000, 2000000000, 2000000000, 0)"
                    ),
                    {"o": ORG},
                )
        quota = ", the owner with a quota" if args.quota else ""
        print(f"# The admission read's server time, ms per call (median of 11 turns{quota})\n")
        print("| bookings in force | 0017 | 0018 | live | live / 0017 | live / 0018 |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        start = T0 + timedelta(days=3)
        window = {"a": start, "b": start + timedelta(minutes=30), "n": args.calls // 12 + 1}
        for n, count in enumerate(overlaps, start=1):
            fill_busy(url, range_id(n), count)
            times: dict[str, list[float]] = {v: [] for v in VERSIONS}
            with engine.connect() as c:
                for turn in range(12):
                    for version in VERSIONS if turn % 2 == 0 else VERSIONS[::-1]:
                        took = c.execute(
                            text("SELECT bench_time_peek(:v, :r, :a, :b, :n)"),
                            {"v": version, "r": range_id(n), **window},
                        ).scalar_one()
                        if turn:
                            times[version].append(took)
                c.rollback()
            old, summed, live = (statistics.median(times[v]) for v in VERSIONS)
            cells = f"{old:.3f} | {summed:.3f} | {live:.3f} | {live / old:.2f} | {live / summed:.2f}"
            print(f"| {count:,} | {cells} |", flush=True)
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
