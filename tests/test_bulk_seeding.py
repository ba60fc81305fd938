"""The bulk (COPY) seeding path writes exactly the rows the ORM path writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pytest_mockseed.database import DatabaseJanitor
from pytest_mockseed.models import metadata
from pytest_mockseed.scenario import main
from pytest_mockseed.services.handles import PostgresHandle

SEED = 4242
ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVENTS_PER_PROJECT = 250

Dump = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
def janitor(mockseed_postgres: PostgresHandle) -> Iterator[DatabaseJanitor]:
    janitor = DatabaseJanitor(mockseed_postgres.url)
    yield janitor
    assert janitor.drop_all() == []


def seed_and_dump(janitor: DatabaseJanitor, *, bulk: bool) -> Dump:
    engine = create_engine(janitor.create(janitor.new_name("bulk")), poolclass=NullPool)
    try:
        metadata.create_all(engine)
        with Session(engine) as session:
            main(
                session,
                None,
                events_per_project=EVENTS_PER_PROJECT,
                extra_events=True,
                seed=SEED,
                anchor=ANCHOR,
                bulk=bulk,
            )
            session.commit()
        return dump(engine)
    finally:
        engine.dispose()


def dump(engine: Engine) -> Dump:
    """Every row of every table, ordered by the primary key (then every column)."""
    tables: Dump = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            order = [*table.primary_key.columns, *table.columns]
            rows = connection.execute(select(table).order_by(*order))
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def test_bulk_and_orm_seeding_write_identical_tables(janitor: DatabaseJanitor) -> None:
    bulk = seed_and_dump(janitor, bulk=True)
    orm = seed_and_dump(janitor, bulk=False)

    assert list(bulk) == list(orm)
    assert len(bulk["events"]) == 6 * (EVENTS_PER_PROJECT + 45) + 9
    for name in bulk:
        assert bulk[name] == orm[name], f"table {name} differs"
