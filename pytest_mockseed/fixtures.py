"""The fixtures users request, thin over the modules that do the work.

Nothing heavy is imported at module level: pytest loads this module for
every run, and ``pytest --help`` must work without a database driver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pytest_mockseed.config import MockseedConfig
    from pytest_mockseed.isolation import SeededDatabases
    from pytest_mockseed.models import AlertRule
    from pytest_mockseed.producer import ConfirmingProducer
    from pytest_mockseed.scenario import World
    from pytest_mockseed.seeded import MockFeedback, SeededOrg
    from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle
    from pytest_mockseed.services.ladder import Services


def _services(request: pytest.FixtureRequest) -> Services:
    from pytest_mockseed.plugin import SERVICES_KEY

    return request.config.stash[SERVICES_KEY]


@pytest.fixture(scope="session")
def mockseed_postgres(request: pytest.FixtureRequest) -> PostgresHandle:
    """The run's PostgreSQL server (one per xdist worker).

    ``.url`` is a SQLAlchemy URL (psycopg 3 driver) with the rights to create
    databases, ``.backend`` is ``"url"``, ``"docker"`` or ``"local"``, and
    ``.version`` the server version. Started once, stopped after the run.
    """
    from pytest_mockseed.errors import ServiceUnavailable

    __tracebackhide__ = True
    try:
        return _services(request).postgres()
    except ServiceUnavailable as error:
        failure = str(error)
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def mockseed_kafka(request: pytest.FixtureRequest) -> KafkaHandle:
    """The run's Kafka-protocol broker (one per xdist worker).

    ``.bootstrap_servers`` is the address to give a client, ``.backend``
    is ``"url"``, ``"docker"`` or ``"tansu"``, and ``.messages(topic,
    timeout=...)`` returns every message on a topic from its start, with
    ``.key``, ``.value``, ``.partition``, ``.offset`` and ``.headers``.
    """
    from pytest_mockseed.errors import ServiceUnavailable

    __tracebackhide__ = True
    try:
        return _services(request).kafka()
    except ServiceUnavailable as error:
        failure = str(error)
    pytest.fail(failure, pytrace=False)


@contextlib.contextmanager
def _one_line_failures() -> Iterator[None]:
    """Report a service that cannot be had as its message, without a traceback."""
    from pytest_mockseed.errors import ServiceUnavailable

    __tracebackhide__ = True
    try:
        yield
    except ServiceUnavailable as error:
        failure = str(error)
    else:
        return
    pytest.fail(failure, pytrace=False)


def _settings(request: pytest.FixtureRequest) -> MockseedConfig:
    from pytest_mockseed.plugin import CONFIG_KEY

    return request.config.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def mockseed_producer(
    request: pytest.FixtureRequest, mockseed_kafka: KafkaHandle
) -> Iterator[ConfirmingProducer]:
    """A producer to the run's broker that waits for every confirmation.

    ``send(topic, value, key)`` returns where the broker stored the message,
    or raises ``DeliveryError`` after ``--mockseed-delivery-timeout`` seconds.
    """
    from pytest_mockseed.producer import ConfirmingProducer

    timeout = _settings(request).delivery_timeout
    producer = ConfirmingProducer(
        mockseed_kafka.bootstrap_servers, delivery_timeout=timeout
    )
    yield producer
    producer.close()


@pytest.fixture(scope="session")
def _mockseed_databases(
    request: pytest.FixtureRequest,
    mockseed_postgres: PostgresHandle,
    mockseed_producer: ConfirmingProducer,
) -> Iterator[SeededDatabases]:
    """The seeded template and the working clone the rolled-back tests share."""
    from pytest_mockseed.isolation import open_databases
    from pytest_mockseed.plugin import WORLD_ANCHOR_KEY

    hook = request.config.hook.pytest_mockseed_seed
    with _one_line_failures():
        databases = open_databases(
            mockseed_postgres.url,
            _settings(request),
            mockseed_producer,
            extend=lambda world, session: hook(world=world, session=session),
            hook_sources=_hook_sources(request.config),
        )
    request.config.stash[WORLD_ANCHOR_KEY] = databases.template.world.anchor
    yield databases
    for problem in databases.close():
        request.node.warn(
            pytest.PytestWarning(f"mockseed: could not clean up: {problem}")
        )


def _hook_sources(config: pytest.Config) -> list[str]:
    """The source of every ``pytest_mockseed_seed``: part of the kept template's key."""
    import inspect

    sources = []
    for impl in config.pluginmanager.hook.pytest_mockseed_seed.get_hookimpls():
        try:
            sources.append(inspect.getsource(impl.function))
        except (OSError, TypeError):
            sources.append(impl.plugin_name)
    return sources


@pytest.fixture(scope="session")
def mockseed_world(_mockseed_databases: SeededDatabases) -> World:
    """Primary keys of everything the scenario seeded, in the scenario's order."""
    return _mockseed_databases.template.world


@pytest.fixture
def mockseed_db_session(
    request: pytest.FixtureRequest, _mockseed_databases: SeededDatabases
) -> Iterator[Session]:
    """The test's own SQLAlchemy session on the seeded world, isolated from others.

    By default the test runs inside a transaction that is rolled back
    afterwards (``commit()`` included). With
    ``@pytest.mark.mockseed(isolation="database")`` it gets a database of
    its own, cloned from the seeded template, where commits are visible to
    other connections (``session.get_bind().url``). The factories of
    ``pytest_mockseed.factories`` create their rows in this session, and are
    re-seeded, while the test runs (factory_boy is only imported when the
    test or its module imports the factories).
    """
    from pytest_mockseed import binding
    from pytest_mockseed.determinism import factories_seed

    settings = _settings(request)
    isolation = _isolation(request)
    seed = factories_seed(settings.seed_value)
    with (
        _one_line_failures(),
        _mockseed_databases.session(isolation) as session,
        binding.bound(session, seed, settings.anchor_time),
    ):
        yield session


def _isolation(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("mockseed")
    isolation = (
        marker.kwargs.get("isolation", "transaction") if marker else "transaction"
    )
    if isolation not in ("transaction", "database"):
        pytest.fail(
            f"@pytest.mark.mockseed(isolation={isolation!r}): expected 'transaction' "
            "(the default, rolled back) or 'database' (a cloned database)",
            pytrace=False,
        )
    return str(isolation)


@pytest.fixture
def seeded_org(mockseed_db_session: Session, mockseed_world: World) -> SeededOrg:
    """The seeded organization, loaded in this test's session.

    ``.organization``, ``.owner`` (the superuser), ``.user`` (the dummy
    member), ``.members``, ``.teams``, ``.projects`` (Ludic Science, Earth,
    Fire, Wind, Water, Heart), ``.session`` and ``.seed``. Writes are
    isolated: the next test sees the seeded world again.
    """
    from pytest_mockseed.seeded import load_seeded_org

    return load_seeded_org(mockseed_db_session, mockseed_world)


@pytest.fixture
def metric_alert_rule(mockseed_db_session: Session, mockseed_world: World) -> AlertRule:
    """The seeded "My Alert Rule" of the first project, triggers and incidents loaded."""
    from pytest_mockseed.seeded import load_alert_rule

    if not mockseed_world.alert_rule_ids:
        pytest.fail(
            "metric_alert_rule: this run seeded no alert rule, because of "
            "--mockseed-skip-default-setup; drop that option for this test",
            pytrace=False,
        )
    return load_alert_rule(mockseed_db_session, mockseed_world.alert_rule_ids[0])


@pytest.fixture
def mock_feedback(
    mockseed_db_session: Session,
    mockseed_world: World,
    mockseed_producer: ConfirmingProducer,
    mockseed_kafka: KafkaHandle,
) -> MockFeedback:
    """A fresh feedback on Wind, run through the pipeline inside this test.

    ``.feedback`` is its row, ``.occurrence`` the value sent to
    ``ingest-occurrences``, and ``.message`` that message as the broker
    returns it (topic, partition, offset, key, decoded value).
    """
    from pytest_mockseed.seeded import run_mock_feedback

    return run_mock_feedback(
        mockseed_db_session, mockseed_world, mockseed_producer, mockseed_kafka
    )
