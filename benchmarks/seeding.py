"""Seeding figures: the scenario's bulk path against raw COPY and the naive way.

Also the peak-RSS figure, which runs the scenario in a child process
(``python -m benchmarks.seeding DB_URL EVENTS_PER_PROJECT``) so that the
maximum resident size belongs to the seeding alone.
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from benchmarks.report import Figure, seconds
from pytest_mockseed import factories
from pytest_mockseed.database import DatabaseJanitor
from pytest_mockseed.factories import EventFactory
from pytest_mockseed.models import Event, Project, metadata
from pytest_mockseed.scenario import main
from pytest_mockseed.scenario.persist import EVENT_COLUMNS
from pytest_mockseed.services.postgres import libpq_url

SEED = 1337
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
PROJECTS = 6  # the reference scenario's projects
_JSON = frozenset({"tags", "data"})


def per_project(total_events: int) -> int:
    """Events per project so that the scenario seeds at least ``total_events``."""
    return -(-total_events // PROJECTS)


@contextmanager
def fresh_database(janitor: DatabaseJanitor, role: str) -> Iterator[Engine]:
    """A new database with the schema built; dropped afterwards."""
    name = janitor.new_name(role)
    engine = create_engine(janitor.create(name), poolclass=NullPool)
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        janitor.drop(name)


def seed_scenario(
    engine: Engine, events_per_project: int, *, bulk: bool = True
) -> float:
    """Run the whole scenario and commit; return the seconds it took."""
    with Session(engine) as session:
        started = time.perf_counter()
        main(
            session,
            None,
            events_per_project=events_per_project,
            seed=SEED,
            anchor=ANCHOR,
            bulk=bulk,
        )
        session.commit()
        return time.perf_counter() - started


def dump_event_rows(engine: Engine) -> list[list[Any]]:
    """Every event row, in id order, ready for ``COPY``.

    JSON values are wrapped for psycopg with the encoder the scenario's
    ``COPY`` uses, so the ratio measures generation, not a JSON library.
    """
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in EVENT_COLUMNS)
    query = sql.SQL("SELECT {} FROM events ORDER BY id").format(columns)
    with psycopg.connect(libpq_url(str(engine.url.render_as_string(False)))) as conn:
        rows = conn.execute(query).fetchall()
    wrap = [name in _JSON for name in EVENT_COLUMNS]
    return [
        [
            Jsonb(v, orjson.dumps) if w and v is not None else v
            for v, w in zip(row, wrap, strict=True)
        ]
        for row in rows
    ]


def raw_copy(engine: Engine, rows: Sequence[Sequence[Any]]) -> float:
    """Empty ``events``, then ``COPY`` ``rows`` into it and commit; return seconds."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in EVENT_COLUMNS)
    statement = sql.SQL("COPY events ({}) FROM STDIN").format(columns)
    with psycopg.connect(libpq_url(str(engine.url.render_as_string(False)))) as conn:
        conn.execute("TRUNCATE events")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def naive_per_row(engine: Engine, sample: int) -> float:
    """Seconds per event for ``EventFactory.create()`` one at a time, ORM flushes."""
    # Another seed: the factories' stream under SEED repeats the scenario's
    # event ids (both draw from random.Random(SEED)), see the report.
    factories.reseed(SEED + 1, anchor_time=ANCHOR)
    with Session(engine) as session, factories.bound_to(session):
        project = session.scalars(select(Project).order_by(Project.id)).first()
        started = time.perf_counter()
        for _ in range(sample):
            EventFactory.create(project=project)
        session.commit()
        return (time.perf_counter() - started) / sample


def count_events(engine: Engine) -> int:
    """How many rows ``events`` holds."""
    with Session(engine) as session:
        return session.query(Event).count()


def seeding_figures(
    janitor: DatabaseJanitor, total: int, rounds: int, sample: int
) -> list[Figure]:
    """Bulk scenario vs raw COPY of its rows (≤ 1.5x) and vs the naive way (≥ 20x).

    The server's side of ``COPY`` dominates both and swings by a third from
    one database to the next on these machines, so each is measured
    ``rounds`` times, alternating, and the best of each is compared, as
    ``timeit`` does. One small scenario runs first: the process's first
    seeding also pays SQLAlchemy's first compilations (about 0.2 s), a cost
    of a pytest run's start-up, not of its events.
    """
    with fresh_database(janitor, "warmup") as warm_up_db:
        seed_scenario(warm_up_db, 1)

    bulk = copied = math.inf
    rows: list[list[Any]] = []
    for _ in range(rounds):
        with fresh_database(janitor, "bulk") as bulk_db:
            bulk = min(bulk, seed_scenario(bulk_db, per_project(total)))
            rows = rows or dump_event_rows(bulk_db)

        with fresh_database(janitor, "copy") as copy_db:
            seed_scenario(copy_db, 0)
            copied = min(copied, raw_copy(copy_db, rows))
    with fresh_database(janitor, "naive") as naive_db:
        seed_scenario(naive_db, 0)
        naive = naive_per_row(naive_db, sample) * len(rows)

    copy_ratio = bulk / copied
    naive_ratio = naive / bulk
    label = f"seed {len(rows):,} events"
    return [
        Figure(
            f"{label}: scenario bulk vs raw COPY",
            seconds(bulk),
            f"COPY {seconds(copied)}",
            f"{copy_ratio:.2f}x",
            "<= 1.5x",
            copy_ratio <= 1.5,
            note=f"best of {rounds} runs each, alternating: scenario "
            f"{len(rows) / bulk:,.0f} rows/s (all of its rows included), raw COPY "
            f"{len(rows) / copied:,.0f} rows/s",
        ),
        Figure(
            f"{label}: naive factory_boy vs scenario bulk",
            seconds(bulk),
            f"naive {seconds(naive)} (extrapolated)",
            f"{naive_ratio:.1f}x faster",
            ">= 20x faster",
            naive_ratio >= 20,
            note=f"naive measured on {sample:,} EventFactory.create() calls: "
            f"{naive / len(rows) * 1e6:,.0f} us a row",
        ),
    ]


def rss_figure(janitor: DatabaseJanitor, total: int) -> Figure:
    """Peak RSS of a child process that seeds ``total`` events (< 300 MB)."""
    with fresh_database(janitor, "rss") as engine:
        url = engine.url.render_as_string(hide_password=False)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.seeding", url, str(per_project(total))],
            check=True,
            capture_output=True,
            text=True,
        )
        seeded = count_events(engine)
    idle_kb, peak_kb, took, maxrss_kb = child.stdout.split()
    peak = int(peak_kb) / 1024
    idle = int(idle_kb) / 1024
    return Figure(
        f"peak RSS seeding {seeded:,} events",
        f"{peak:.0f} MB",
        f"idle after imports {idle:.0f} MB",
        f"+{peak - idle:.0f} MB",
        "< 300 MB",
        peak < 300,
        note=f"child process seeded them in {float(took):.1f} s; VmHWM of the "
        f"child's image (getrusage maxrss said {int(maxrss_kb) / 1024:.0f} MB, "
        "inherited from the parent across fork+exec)",
    )


def _peak_kb() -> int:
    """This process image's peak resident size in KiB (``VmHWM``).

    ``getrusage`` maxrss is not used alone: on Linux it inherits the
    parent's high-water mark across fork and exec, so a child of a big
    parent reports the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(url: str, events_per_project: int) -> None:
    """Seed into ``url``; print idle and peak RSS (KiB), seconds, getrusage maxrss."""
    engine = create_engine(url, poolclass=NullPool)
    idle = _peak_kb()
    took = seed_scenario(engine, events_per_project)
    engine.dispose()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(idle, _peak_kb(), f"{took:.3f}", maxrss)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
