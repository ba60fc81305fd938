"""Shared helpers for running the plugin end to end through pytester."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle

RunPytest = Callable[..., pytest.RunResult]

#: What ``scripts/docker-engine start`` exports. Inner runs do not see it
#: unless a test asks for ``docker_engine``: in ``auto`` mode they would
#: otherwise all move to the Docker rung.
ENGINE_VARIABLES = (
    "DOCKER_HOST",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "TESTCONTAINERS_RYUK_DISABLED",
    "TESTCONTAINERS_CONNECTION_MODE",
    "TESTCONTAINERS_HOST_OVERRIDE",
    "MOCKSEED_DOCKER_STATE",
    "MOCKSEED_DOCKER_NETWORK_MODE",
    "MOCKSEED_PG_IMAGE",
    "MOCKSEED_KAFKA_IMAGE",
)
ENGINE_ENVIRONMENT = {
    name: os.environ[name] for name in ENGINE_VARIABLES if name in os.environ
}


@pytest.fixture
def pytester(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.Pytester]:
    """A pytester whose inner runs start their services in a private TMPDIR.

    The inner runs write their data directories below ``inner_tmp``, so a
    test can check that nothing was left there, without seeing the files of
    other runs on the machine. It lives in /tmp because pytest's own base
    directory is private to root, and PostgreSQL runs as another user.
    """
    inner_tmp = Path(tempfile.mkdtemp(prefix="inner-tmp-"))
    inner_tmp.chmod(0o777)
    monkeypatch.setenv("TMPDIR", str(inner_tmp))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    for name in ("MOCKSEED_DB_URL", "MOCKSEED_KAFKA_BOOTSTRAP", "MOCKSEED_SERVICES"):
        monkeypatch.delenv(name, raising=False)
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield pytester
    shutil.rmtree(inner_tmp, ignore_errors=True)


@pytest.fixture
def inner_tmp(pytester: pytest.Pytester) -> Path:
    """The TMPDIR the inner runs of this test use."""
    return Path(os.environ["TMPDIR"])


@pytest.fixture
def shared_services(
    mockseed_postgres: PostgresHandle, mockseed_kafka: KafkaHandle
) -> list[str]:
    """Options that make an inner run use this run's services (fast)."""
    return [
        f"--mockseed-db-url={mockseed_postgres.url}",
        f"--mockseed-kafka-bootstrap={mockseed_kafka.bootstrap_servers}",
    ]


def processes_under(path: Path) -> list[psutil.Process]:
    """Processes that run in or name ``path``: the servers an inner run started."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        seen = (
            " ".join(process.info["cmdline"] or ()) + " " + (process.info["cwd"] or "")
        )
        if str(path) in seen:
            found.append(process)
    return found


def wait_for_file(path: Path, run: subprocess.Popen[bytes]) -> None:
    """Wait until a test of the inner run ``run`` has written ``path``."""
    deadline = time.monotonic() + 60
    while not path.exists():
        assert run.poll() is None, run.stdout.read() if run.stdout else b""
        assert time.monotonic() < deadline, "the inner run never started its test"
        time.sleep(0.1)


def interrupted_run(pytester: pytest.Pytester, *args: str) -> bytes:
    """Run a test that waits on the services, press Ctrl-C once it runs; the output.

    Used to check that an interrupted run leaves nothing behind, whichever
    rung ``args`` choose.
    """
    started = pytester.path / "started"
    pytester.makepyfile(
        f"""
        import pathlib, time

        def test_waits(mockseed_postgres, mockseed_kafka):
            pathlib.Path({str(started)!r}).write_text("yes")
            time.sleep(60)
        """
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_file(started, run)
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    return output


def databases_like(admin: str, pattern: str = "mockseed%") -> set[str]:
    """Names of the databases on the server at ``admin`` that match ``pattern``."""
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
        )
        return {row[0] for row in rows}
