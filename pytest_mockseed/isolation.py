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

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pytest_mockseed import reuse
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.database import DatabaseJanitor, engine_for, rolled_back_session
from pytest_mockseed.errors import ServiceUnavailable, mask_url
from pytest_mockseed.producer import ConfirmingProducer, OutgoingMessage
from pytest_mockseed.template import SeededTemplate, SeedHook, seed_template


@dataclass
class SeededDatabases:
    """The template, the shared working clone, and who cleans them up."""

    janitor: DatabaseJanitor
    template: SeededTemplate
    working: Engine
    #: Leave a spare clone of a kept template for the next run.
    keep_spare: bool = False

    @contextlib.contextmanager
    def session(self, isolation: str) -> Iterator[Session]:
        """A session isolated by ``isolation``: "transaction" or "database"."""
        with server_errors(self.janitor.admin_url):
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
        problems = self.janitor.drop_all()
        if self.keep_spare and not problems:
            reuse.make_spare(self.janitor, self.template.name)
        return problems


@contextlib.contextmanager
def server_errors(url: str) -> Iterator[None]:
    """Turn a server that stopped answering into one clear :class:`ServiceUnavailable`."""
    try:
        yield
    except (OperationalError, psycopg.OperationalError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise ServiceUnavailable(
            f"PostgreSQL at {mask_url(url)} stopped answering",
            reason[-1] if reason else "no reason given",
            ["a new connection to the run's server"],
            [
                "check that the server is still running (the local one dies with pytest)",
                "rerun; the line under 'reproduce with' replays the same world",
            ],
        ) from None


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
        with server_errors(admin_url):
            janitor.sweep_stale()
            template = _template(janitor, settings, producer, extend, hook_sources)
            working = _working_clone(janitor, template, settings.reuse)
    except BaseException:
        janitor.drop_all()
        raise
    return SeededDatabases(janitor, template, engine_for(working), settings.reuse)


def _working_clone(
    janitor: DatabaseJanitor, template: SeededTemplate, reusing: bool
) -> str:
    """The URL of the working database: the previous run's spare, or a clone."""
    spare = reuse.claim_spare(janitor, template.name) if reusing else None
    return spare or janitor.create(janitor.new_name("work"), template=template.name)


def _template(
    janitor: DatabaseJanitor,
    settings: MockseedConfig,
    producer: ConfirmingProducer | None,
    extend: SeedHook | None,
    hook_sources: Sequence[str],
) -> SeededTemplate:
    if not settings.reuse:
        return seed_template(janitor, settings, producer, extend)

    key = reuse.template_key(settings, hook_sources)
    return _kept_template(janitor, settings, producer, extend, key)


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
    name = reuse.kept_name(key, settings.worker)
    world = None if settings.recreate else reuse.load_ready(janitor, name)
    if world is not None:
        if producer is not None and world.sent:
            producer.send_many(
                [
                    OutgoingMessage(
                        m.topic, m.value.encode(), m.key.encode() if m.key else None
                    )
                    for m in world.sent
                ]
            )
        return SeededTemplate(name, world)

    janitor.adopt(name)
    janitor.drop(name)
    template = seed_template(janitor, settings, producer, extend, name=name)
    reuse.mark_ready(janitor, name, template.world)
    janitor.release(name)
    return template
