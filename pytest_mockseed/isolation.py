"""One run's databases and the two ways a test is kept apart from the others.

``transaction`` (the default): the test shares a working clone of the
template and runs inside a transaction that is rolled back. ``database``:
the test gets a clone of its own, dropped afterwards; slower, but its
commits are visible to other connections.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pytest_mockseed import reuse
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.database import DatabaseJanitor, engine_for, rolled_back_session
from pytest_mockseed.producer import ConfirmingProducer, OutgoingMessage
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
    hook_sources: Sequence[str] = (),
) -> SeededDatabases:
    """Seed the template (or reuse a kept one) and clone the working database."""
    janitor = DatabaseJanitor(admin_url)
    try:
        if settings.reuse:
            key = reuse.template_key(settings, hook_sources)
            template = _kept_template(janitor, settings, producer, extend, key)
        else:
            template = seed_template(janitor, settings, producer, extend)
        working_url = janitor.create(janitor.new_name("work"), template=template.name)
    except BaseException:
        janitor.drop_all()
        raise
    return SeededDatabases(janitor, template, engine_for(working_url))


def _kept_template(
    janitor: DatabaseJanitor,
    settings: MockseedConfig,
    producer: ConfirmingProducer | None,
    extend: SeedHook | None,
    key: str,
) -> SeededTemplate:
    """Reuse the kept template for ``key``, or rebuild it and keep it.

    A reused world's broker messages went to an earlier run's broker, so
    they are sent again: what the scenario promises is on the broker.
    """
    name = reuse.kept_name(key)
    world = None if settings.recreate else reuse.load_ready(janitor, name)
    if world is not None:
        if producer is not None and world.sent:
            producer.send_many([
                OutgoingMessage(m.topic, m.value.encode(), m.key.encode() if m.key else None)
                for m in world.sent
            ])
        return SeededTemplate(name, world)

    janitor.adopt(name)
    janitor.drop(name)
    template = seed_template(janitor, settings, producer, extend, name=name)
    reuse.mark_ready(janitor, name, template.world)
    janitor.release(name)
    return template
