"""The user-level suites once more, on the Docker rung, against the local images.

The same inner test files as ``tests/test_services.py`` and
``tests/test_seeded_world.py`` run with ``--mockseed-services=docker``:
real SQL, a produce-then-read round trip, and the seeded world with its
counts and its feedback occurrence on the container broker. Afterwards
no container of those runs is left on the engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from pytest_mockseed.services import docker as rung
from pytest_mockseed.services.handles import PostgresHandle
from tests.conftest import ENGINE_ENVIRONMENT, interrupted_run
from tests.test_seeded_world import COUNTS
from tests.test_services import ROUND_TRIP

DOCKER_RUNG = [
    "--mockseed-services=docker",
    f"--mockseed-pg-image={rung.LOCAL_PG_IMAGE}",
    f"--mockseed-kafka-image={rung.LOCAL_TANSU_IMAGE}",
]


@pytest.fixture
def docker_engine(
    live_engine: rung.EnginePing,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """Give the inner runs the engine's environment, and check they leave nothing."""
    for name, value in ENGINE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    before = _labelled_containers()
    yield
    assert _labelled_containers() == before


def _labelled_containers() -> set[str]:
    client = docker.from_env()
    try:
        found = client.containers.list(all=True, filters={"label": rung.SESSION_LABEL})
        return {container.id for container in found}
    finally:
        client.close()


@pytest.mark.usefixtures("docker_engine")
def test_real_sql_and_a_round_trip_in_containers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        ROUND_TRIP.replace('"local"', '"docker"').replace('"tansu"', '"docker"')
    )

    result = pytester.runpytest_subprocess(*DOCKER_RUNG)

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            f"mockseed: postgres=docker 15.* image {rung.LOCAL_PG_IMAGE} (*pg_image from cli*), "
            f"kafka=docker 0.6.0-local * image {rung.LOCAL_TANSU_IMAGE} (*kafka_image from cli*)"
        ]
    )


@pytest.mark.usefixtures("docker_engine")
def test_the_seeded_world_in_containers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(COUNTS)

    result = pytester.runpytest_subprocess(*DOCKER_RUNG, "--mockseed-events=50")

    result.assert_outcomes(passed=1)


@pytest.mark.usefixtures("docker_engine")
def test_a_failing_run_removes_its_containers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(mockseed_postgres, mockseed_kafka):
            assert False, "on purpose"
        """
    )

    result = pytester.runpytest_subprocess(*DOCKER_RUNG)

    result.assert_outcomes(failed=1)


@pytest.mark.usefixtures("docker_engine")
def test_an_interrupted_run_removes_its_containers(pytester: pytest.Pytester) -> None:
    output = interrupted_run(pytester, *DOCKER_RUNG)

    assert b"KeyboardInterrupt" in output


@pytest.fixture
def password_server(docker_engine: None) -> Iterator[PostgresHandle]:
    """A PostgreSQL that checks passwords: the local image, through the rung.

    The suite's own local server trusts every local connection, so a refused
    password can only be shown on a server like this one.
    """
    handle = rung.start_postgres(rung.LOCAL_PG_IMAGE)
    yield handle
    handle.stop()


def test_a_refused_password_is_one_masked_line_naming_the_setting(
    pytester: pytest.Pytester, password_server: PostgresHandle
) -> None:
    url = password_server.url.replace("://mockseed:mockseed@", "://mockseed:not-it@")
    assert "not-it" in url
    pytester.makepyfile("def test_it(mockseed_postgres):\n    pass\n")

    result = pytester.runpytest_subprocess(f"--mockseed-db-url={url}", timeout=60)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*PostgreSQL at postgresql+psycopg://mockseed:***@*/mockseed "
            "(from --mockseed-db-url) is not usable: *password authentication failed*"
        ]
    )
    assert "not-it" not in result.stdout.str() + result.stderr.str()
