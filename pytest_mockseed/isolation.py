"""One run's databases and the two ways a test is kept apart from the others.

``transaction`` (the default): the test shares a working clone of the
template and runs inside a transaction that is rolled back. ``database``:
the test gets a clone of its own, dropped afterwards; slower, but its
commits are visible to other connections.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.database import DatabaseJanitor, engine_for, rolled_back_session
from pytest_mockseed.producer import ConfirmingProducer
from pytest_mockseed.template import SeededTemplate, SeedHook, seed_template


@dataclass
class SeededDatabases:
    """The template, the shared working clone, and who cleans them up."""

    janitor: DatabaseJanitor
    template: SeededTemplate
    working: Engine

    @contextlib.contextmanager
    def session(self, isolation: str) -> Iterator[Session]:
        """A session isolated by ``isolation``: "transaction" or "database"."""
        if isolation == "database":
            with self._own_database() as session:
                yield session
        else:
            with rolled_back_session(self.working) as session:
                yield session

    @contextlib.contextmanager
    def _own_database(self) -> Iterator[Session]:
        name = self.janitor.new_name("test")
        engine = create_engine(
            self.janitor.create(name, template=self.template.name), poolclass=NullPool
        )
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()
            self.janitor.drop(name)

    def close(self) -> list[str]:
        """Close every connection and drop every database; return the failures."""
        self.working.dispose()
        return self.janitor.drop_all()


def open_databases(
    admin_url: str,
    settings: MockseedConfig,
    producer: ConfirmingProducer | None,
    extend: SeedHook | None = None,
) -> SeededDatabases:
    """Seed the template and clone the working database from it."""
    janitor = DatabaseJanitor(admin_url)
    try:
        template = seed_template(janitor, settings, producer, extend)
        working_url = janitor.create(janitor.new_name("work"), template=template.name)
    except BaseException:
        janitor.drop_all()
        raise
    return SeededDatabases(janitor, template, engine_for(working_url))
