"""The fixtures users request, thin over the modules that do the work.

Nothing heavy is imported at module level: pytest loads this module for
every run, and ``pytest --help`` must work without a database driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
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
