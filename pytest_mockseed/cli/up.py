"""``mockseed up``: PostgreSQL and a broker of its own, seeded, until a signal.

The servers come from the plugin's ladder (:class:`Services`) without its
first rung: ``up`` always starts servers, in Docker or as local processes,
and so never seeds a server someone else runs (``mockseed seed`` does that).
Whatever it started is stopped, and its files removed, however it ends:
SIGINT, SIGTERM, SIGHUP (its terminal closed), a failure while starting, or
one of the servers ending on its own while it serves (exit status 1).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from pytest_mockseed.cli import seeding
from pytest_mockseed.cli.output import Output
from pytest_mockseed.cli.summary import Summary
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle
from pytest_mockseed.services.ladder import Services
from pytest_mockseed.services.postgres import libpq_url, normalise_url

logger = logging.getLogger(__name__)

DATABASE = "mockseed"
STEPS = (
    "starting PostgreSQL",
    "starting the broker",
    f"creating database {DATABASE}",
    *seeding.STEPS,
)
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds between two looks at whether the servers still run.
WATCH_INTERVAL = 1.0


def up(settings: MockseedConfig, output: Output) -> int:
    """Start, seed, announce, serve until a stop signal, then stop everything."""
    services = Services(settings)
    previous = _handle_stop_signals()
    try:
        started = time.monotonic()
        summary, environment = _start_and_seed(services, settings, output)
        seconds = time.monotonic() - started
        _announce_and_serve(output, summary, environment, seconds, services)
    finally:
        _stop(services)
        _restore(previous)
    return 0


def _handle_stop_signals() -> dict[signal.Signals, Any]:
    """Make each stop signal raise KeyboardInterrupt; return the old handlers.

    SIGINT is set too, because a shell starts background jobs with it
    ignored; SIGHUP is left alone when ignored, so ``nohup`` still works.
    """
    previous = {}
    for number in _STOP_SIGNALS:
        if number == signal.SIGHUP and signal.getsignal(number) == signal.SIG_IGN:
            continue
        previous[number] = signal.signal(number, _interrupt)
    return previous


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Treat every stop signal as Ctrl-C, so one path stops everything."""
    raise KeyboardInterrupt


def _start_and_seed(
    services: Services, settings: MockseedConfig, output: Output
) -> tuple[Summary, dict[str, str]]:
    with output.phases(STEPS) as phases:
        with phases.step(STEPS[0]):
            postgres = services.postgres()
        with phases.step(STEPS[1]):
            kafka = services.kafka()
        with phases.step(STEPS[2]), seeding.database_errors(postgres.url):
            url = create_database(postgres.url, DATABASE)

        summary = seeding.seed_database(url, kafka.bootstrap_servers, settings, phases)

    environment = {
        "MOCKSEED_DB_URL": url,
        "MOCKSEED_LIBPQ_URL": libpq_url(url),
        "MOCKSEED_KAFKA_BOOTSTRAP": kafka.bootstrap_servers,
    }
    return summary, environment


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server we started; return its SQLAlchemy URL."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    url = make_url(normalise_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False)


def _announce(
    output: Output, summary: Summary, environment: dict[str, str], seconds: float
) -> None:
    """Print the summary and the addresses, then say how to stop.

    The ``KEY=value`` lines carry the real password of the throwaway
    server, because a script needs it to connect; the table masks it.
    """
    if output.json_output:
        output.summary(
            summary, {"env": environment, "startup_seconds": round(seconds, 3)}
        )
    else:
        output.summary(summary)
        for key, value in environment.items():
            output.write(f"{key}={value}")

    _say(
        f"mockseed: up after {seconds:.1f} s; Ctrl-C (or SIGTERM) stops the servers "
        "and removes their files"
    )


def _announce_and_serve(
    output: Output,
    summary: Summary,
    environment: dict[str, str],
    seconds: float,
    services: Services,
) -> None:
    """Announce, then serve until a stop signal, the normal end from here on.

    A script may signal as soon as it has read the addresses, before the
    wait has begun; that is a normal stop too.
    """
    try:
        _announce(output, summary, environment, seconds)
        _watch(services.postgres(), services.kafka())
    except KeyboardInterrupt:
        logger.debug("up: stopping on a signal")


def _watch(postgres: PostgresHandle, kafka: KafkaHandle) -> None:
    """Wait for a stop signal; raise when a server ends on its own first.

    Without this, a server killed or out of memory would leave ``up``
    waiting with addresses that nothing answers, and a script that started
    it would never learn why its tests fail.
    """
    watched = {
        f"PostgreSQL at {postgres.address}": postgres.exit_reason,
        f"the broker at {kafka.bootstrap_servers}": kafka.exit_reason,
    }
    while True:
        time.sleep(WATCH_INTERVAL)
        for server, exit_reason in watched.items():
            reason = exit_reason()
            if reason is not None:
                raise ServiceUnavailable(
                    f"{server} stopped while mockseed up served it",
                    reason,
                    [f"whether it still ran, every {WATCH_INTERVAL:g} s"],
                    [
                        "start mockseed up again; for a server killed by a "
                        "signal, the kernel's log (dmesg) may say by what",
                    ],
                )


def _stop(services: Services) -> None:
    """Stop the servers newest first, deaf to further signals while doing so.

    A second Ctrl-C would otherwise abort the stop half-way and leave a
    data directory behind.
    """
    previous = {
        number: signal.signal(number, signal.SIG_IGN) for number in _STOP_SIGNALS
    }
    # A closed producer keeps its librdkafka client, and its connection,
    # until the cycle collector frees it; Tansu delays its exit while a
    # client is connected, so free it first.
    gc.collect()
    try:
        for problem in services.stop_all():
            _say(f"mockseed: could not stop a server: {problem}")
    finally:
        _restore(previous)


def _restore(handlers: Mapping[signal.Signals, Any]) -> None:
    for number, handler in handlers.items():
        signal.signal(number, handler)


def _say(line: str) -> None:
    """Tell the person at the terminal; stderr, so stdout stays for scripts.

    A closed terminal makes the write fail; stopping matters more then.
    """
    with contextlib.suppress(OSError):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
