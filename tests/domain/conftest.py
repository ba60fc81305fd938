"""Database glue for the domain tests: one schema per run, one transaction per test.

``engine`` builds the tables once on the run's PostgreSQL, in a schema of
this process's own (on its search path), so parallel workers and other runs
sharing a server through ``--mockseed-db-url`` never drop each other's
tables, and a user's own ``public`` tables are never touched. ``session`` gives
each test a connection inside a transaction that is rolled back afterwards,
with every factory bound to it and re-seeded, so tests neither see each
other's rows nor depend on the order they run in. Code under test may call
``session.commit()``: it only releases a savepoint.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.factories import bound_to, reseed
from pytest_mockseed.models import Organization, Project, metadata
from pytest_mockseed.producer import Delivery
from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle

#: Seed of the factories in every domain test; any fixed value would do.
TEST_SEED = 20240601


@pytest.fixture(scope="session")
def engine(mockseed_postgres: PostgresHandle) -> Iterator[Engine]:
    """An engine on the run's PostgreSQL whose search path is a fresh schema."""
    schema = f"mockseed_domain_{os.getpid()}"
    engine = create_engine(
        mockseed_postgres.url, connect_args={"options": f"-c search_path={schema}"}
    )
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    metadata.create_all(engine)
    yield engine
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every write is rolled back after the test.

    The factories create their rows in it, re-seeded with :data:`TEST_SEED`.
    """
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        reseed(TEST_SEED)
        try:
            with bound_to(session):
                yield session
        finally:
            session.close()
            transaction.rollback()


# --- reading confirmed messages back (domain rules: producer and feedback) ---

#: Reads one confirmed message back from the broker: ``read_back(delivery)``.
ReadBack = Callable[[Delivery], Message]


@pytest.fixture
def read_back(mockseed_kafka: KafkaHandle) -> Iterator[ReadBack]:
    """Read the message a :class:`Delivery` names, straight from the broker.

    It seeks to the confirmed partition and offset, so it costs the same
    however many messages the shared topics already hold.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": mockseed_kafka.bootstrap_servers,
            "group.id": "mockseed-read-back",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )

    def read(delivery: Delivery) -> Message:
        where = TopicPartition(delivery.topic, delivery.partition, delivery.offset)
        consumer.assign([where])
        message = consumer.poll(10.0)
        assert message is not None, f"nothing at {delivery}"
        assert message.error() is None, message.error()
        return message

    yield read
    consumer.close()


@pytest.fixture
def organization(session: Session) -> Organization:
    """An organization of the factories, in this test's session."""
    return f.OrganizationFactory()


@pytest.fixture
def project(organization: Organization) -> Project:
    """A project of ``organization``."""
    return f.ProjectFactory(organization=organization)
