"""Seed a database the way the plugin seeds its template, after checking it is ours.

The plugin only ever seeds databases it has just created. The command seeds
databases it is given, so it first looks at what is there. Tables with our
names but other columns belong to someone else: refused. A world seeded
before: refused too, unless the caller asks to add to it; then the scenario
runs again as the reference's loader does (users, organization, teams and
projects are found again; events, alert rules, incidents, a broadcast and a
feedback are added). An empty database, or one without our tables, gets
the schema and the world.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator, Mapping

import psycopg
from confluent_kafka import KafkaException
from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from pytest_mockseed.cli.progress import Phases
from pytest_mockseed.cli.summary import Summary
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.errors import MockseedError, mask_url
from pytest_mockseed.models import Feedback, Project, metadata
from pytest_mockseed.producer import ConfirmingProducer, DeliveryError
from pytest_mockseed.scenario import World
from pytest_mockseed.services.postgres import normalise_url
from pytest_mockseed.template import seed_into

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5
#: The steps :func:`seed_database` reports to its progress bar.
STEPS = (
    "reaching the broker",
    "checking the schema",
    "seeding the world",
    "counting rows",
)


class CommandFailure(MockseedError):
    """The database or the broker failed; the message is one masked line."""


def seed_database(
    url: str,
    bootstrap: str | None,
    settings: MockseedConfig,
    phases: Phases,
    *,
    add: bool = False,
) -> Summary:
    """Check the database at ``url``, seed it, and count what is there now.

    ``add`` allows seeding a database that already holds a world. The time
    in the summary is this call's: what the user waited for once the
    command had started.
    """
    started = time.monotonic()
    with phases.step(STEPS[0]), broker_errors(bootstrap):
        producer = _producer(bootstrap, settings.delivery_timeout)

    engine = create_engine(
        normalise_url(url),
        poolclass=NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    try:
        with database_errors(url), broker_errors(bootstrap):
            world, projects_before = _seed(engine, producer, settings, phases, add)
            with phases.step(STEPS[3]):
                tables = count_rows(engine)
                produced = occurrences_produced(engine, world, producer)
    finally:
        if producer is not None:
            producer.close()
        engine.dispose()

    return _summary(
        url,
        bootstrap,
        settings,
        world,
        tables=tables,
        occurrences=produced,
        added_to_existing=projects_before > 0,
        seconds=time.monotonic() - started,
    )


def _producer(bootstrap: str | None, timeout: float) -> ConfirmingProducer | None:
    """A confirming producer, once the broker has answered; none without one."""
    if bootstrap is None:
        return None

    _check_listening(bootstrap)
    return ConfirmingProducer(bootstrap, delivery_timeout=timeout)


def _check_listening(bootstrap: str) -> None:
    """Fail at once when no bootstrap address takes a TCP connection.

    Without this, a broker that is not there fails the first delivery
    only after the delivery timeout, and the schema would be created by
    then. A broker that listens but does not confirm still fails that
    delivery, and the scenario's transaction is rolled back.
    """
    reasons = []
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            socket.create_connection(
                (host.strip("[]"), int(port)), CONNECT_TIMEOUT
            ).close()
        except OSError as error:
            reasons.append(f"{address.strip()}: {error.strerror or error}")
        else:
            return
    raise CommandFailure(f"Kafka at {bootstrap} does not answer: {'; '.join(reasons)}")


def _seed(
    engine: Engine,
    producer: ConfirmingProducer | None,
    settings: MockseedConfig,
    phases: Phases,
    add: bool,
) -> tuple[World, int]:
    """Check the schema, then seed; return the world and the projects found before."""
    with phases.step(STEPS[1]):
        projects = check_schema(engine)
        if projects and not add:
            raise CommandFailure(
                f"refusing to seed: the database already holds a seeded world ({projects} "
                "projects); use an empty database, or pass --add to add the scenario "
                "again (with another --seed: the same seed repeats the event ids)"
            )

    with phases.step(STEPS[2]):
        world = seed_world(engine, producer, settings)
    logger.debug("cli: seeded with seed %s", settings.seed_value)
    return world, projects


def check_schema(engine: Engine) -> int:
    """Refuse tables of our names with other columns; count the projects there.

    Column names are compared, not types: reflected types differ from
    declared ones in spelling (``FLOAT`` comes back ``DOUBLE PRECISION``),
    while a foreign table with our name all but never has our columns.
    """
    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name in present:
            found = {column["name"] for column in inspector.get_columns(table.name)}
            _check_columns(table.name, {column.name for column in table.columns}, found)

    if Project.__tablename__ not in present:
        return 0
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Project)) or 0)


def _check_columns(table: str, expected: set[str], found: set[str]) -> None:
    if expected == found:
        return

    differences = []
    if expected - found:
        differences.append("missing " + ", ".join(sorted(expected - found)))
    if found - expected:
        differences.append("unexpected " + ", ".join(sorted(found - expected)))
    raise CommandFailure(
        f"refusing to seed: table {table!r} is not mockseed's ({'; '.join(differences)}); "
        "use an empty database, or one that mockseed seeded"
    )


def seed_world(
    engine: Engine, producer: ConfirmingProducer | None, settings: MockseedConfig
) -> World:
    """Create the schema when absent, run the scenario, commit: the plugin's steps."""
    return seed_into(engine, settings, producer)


def count_rows(engine: Engine) -> dict[str, int]:
    """Rows in every table of the schema, by table name."""
    with engine.connect() as connection:
        return {
            name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in sorted(metadata.tables.items())
        }


def occurrences_produced(
    engine: Engine, world: World, producer: ConfirmingProducer | None
) -> int:
    """Occurrences the broker confirmed: the feedback row records delivery."""
    if producer is None or world.feedback_id is None or world.occurrence is None:
        return 0

    query = select(Feedback.delivered).where(Feedback.id == world.feedback_id)
    with engine.connect() as connection:
        return int(bool(connection.scalar(query)))


def _summary(
    url: str,
    bootstrap: str | None,
    settings: MockseedConfig,
    world: World,
    *,
    tables: Mapping[str, int],
    occurrences: int,
    added_to_existing: bool,
    seconds: float,
) -> Summary:
    projects = dict(zip(world.project_names, world.project_ids, strict=True))
    occurrence_id = str(world.occurrence["id"]) if world.occurrence else None
    return Summary(
        database=mask_url(url),
        kafka_bootstrap=bootstrap,
        seed=world.seed,
        anchor=world.anchor,
        events_per_project=settings.events,
        skip_default_setup=settings.skip_default_setup,
        extra_events=settings.extra_events,
        added_to_existing=added_to_existing,
        tables=dict(tables),
        projects=projects,
        error_events=world.error_events,
        transactions=world.transactions,
        occurrences=occurrences,
        occurrence_id=occurrence_id,
        seconds=seconds,
    )


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a driver or SQLAlchemy error into one line naming the masked URL."""
    try:
        yield
    except (SQLAlchemyError, psycopg.Error) as error:
        reason = getattr(error, "orig", None) or error
        raise CommandFailure(
            f"PostgreSQL at {mask_url(url)}: {_first_line(reason)}"
        ) from error


@contextlib.contextmanager
def broker_errors(bootstrap: str | None) -> Iterator[None]:
    """Turn an unconfirmed message or a client error into one line naming the broker."""
    try:
        yield
    except DeliveryError as error:
        raise CommandFailure(f"Kafka at {bootstrap}: {error.reason}") from error
    except KafkaException as error:
        raise CommandFailure(f"Kafka at {bootstrap}: {_first_line(error)}") from error


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
