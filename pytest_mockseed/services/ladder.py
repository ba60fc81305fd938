"""Pick a rung once per run, start the services lazily, stop them all.

The order is the same for both services: a URL the user gave, then a Docker
container when ``--mockseed-services`` allows it and an engine answers,
then a local process. Whatever was started is stopped by :meth:`stop_all`,
newest first, even when stopping one of them fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services import processes
from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle

logger = logging.getLogger(__name__)

_Handle = TypeVar("_Handle", PostgresHandle, KafkaHandle)


@dataclass
class Services:
    """The services of one run (one per xdist worker), started on demand."""

    config: MockseedConfig
    _postgres: PostgresHandle | None = None
    _kafka: KafkaHandle | None = None
    _failures: dict[str, ServiceUnavailable] = field(default_factory=dict)
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # A run killed earlier (kill -9, a crashed xdist worker) leaves its
        # temporary directories behind; remove those of dead runs (issue 7).
        from pytest_mockseed.services import stale

        stale.sweep_temp_dirs()

    def postgres(self) -> PostgresHandle:
        """Return the run's PostgreSQL, starting it on first use."""
        with self._lock:
            if self._postgres is None:
                self._postgres = self._start("postgres", self._start_postgres)
            return self._postgres

    def kafka(self) -> KafkaHandle:
        """Return the run's broker, starting it on first use."""
        with self._lock:
            if self._kafka is None:
                self._kafka = self._start("kafka", self._start_kafka)
            return self._kafka

    def stop_all(self) -> list[str]:
        """Stop everything started, newest first; return the failures met."""
        problems: list[str] = []
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception as error:  # keep stopping the others
                logger.warning("services: stopping failed: %s", error)
                problems.append(str(error))

        # Servers created but not yet handed over when an interrupt came.
        problems += processes.stop_pending()

        # Again at the end: the xdist controller stops last, after any worker
        # that was killed, so what such a worker left goes with the run.
        from pytest_mockseed.services import stale

        stale.sweep_temp_dirs()
        return problems

    def describe(self) -> str:
        """One line for the report header: what runs where, and why."""
        parts = []
        if self._postgres is not None:
            parts.append("postgres=" + _describe(self._postgres, self._pg_reason()))
        if self._kafka is not None:
            parts.append("kafka=" + _describe(self._kafka, self._kafka_reason()))
        for name, failure in self._failures.items():
            parts.append(f"{name}=unavailable ({failure.what})")
        return ", ".join(parts)

    def _start(self, name: str, starter: Callable[[], _Handle]) -> _Handle:
        if name in self._failures:
            raise self._failures[name]
        try:
            handle = starter()
        except ServiceUnavailable as failure:
            self._failures[name] = failure
            raise
        self._stoppers.append(handle.stop)
        processes.handed_over(handle.stop)
        logger.debug("services: %s from %s at %s", name, handle.backend, handle.version)
        return handle

    def _start_postgres(self) -> PostgresHandle:
        from pytest_mockseed.services import postgres

        if self.config.db_url:
            return postgres.connect_to_url(self.config.db_url)
        if self._use_docker():
            from pytest_mockseed.services import docker

            return docker.start_postgres(
                self.config.pg_image or docker.DEFAULT_PG_IMAGE
            )
        from pytest_mockseed.services import local_postgres

        return local_postgres.start_local(self.config)

    def _start_kafka(self) -> KafkaHandle:
        from pytest_mockseed.services import kafka

        if self.config.kafka_bootstrap:
            return kafka.connect_to_bootstrap(self.config.kafka_bootstrap)
        if self._use_docker():
            from pytest_mockseed.services import docker

            return docker.start_kafka(
                self.config.kafka_image or docker.DEFAULT_KAFKA_IMAGE
            )
        return kafka.start_tansu(self.config)

    def _use_docker(self) -> bool:
        if self.config.services == "local":
            return False

        from pytest_mockseed.services import docker

        ping = docker.ping_engine()
        if ping.available:
            # Users may run with the reaper disabled: remove what runs that
            # died on this host left, before adding containers of our own.
            docker.remove_labelled_containers()
            return True
        if self.config.services == "docker":
            raise ServiceUnavailable(
                "no Docker engine answers",
                f"--mockseed-services=docker asks for containers: {ping.reason}",
                [ping.checked],
                [
                    "start a Docker engine, or set DOCKER_HOST to one",
                    "or use --mockseed-services=local (ini mockseed_services) for local "
                    "processes",
                    "or --mockseed-services=auto to prefer Docker and fall back",
                ],
            )
        return False

    def _pg_reason(self) -> str:
        return self._reason("db_url", "services", "pg_bin", "pg_image")

    def _kafka_reason(self) -> str:
        return self._reason("kafka_bootstrap", "services", "tansu_bin", "kafka_image")

    def _reason(self, *names: str) -> str:
        chosen = [
            f"{name} from {self.config.source_of(name)}"
            for name in names
            if self.config.source_of(name) != "default"
        ]
        return "; ".join(chosen)


def _describe(handle: PostgresHandle | KafkaHandle, reason: str) -> str:
    address = getattr(handle, "address", None) or getattr(
        handle, "bootstrap_servers", ""
    )
    text = f"{handle.backend} {handle.version} {address}".strip()
    if handle.backend == "docker":
        text += f" {handle.detail}"  # the image, e.g. "image postgres:15-local"
    return f"{text} ({reason})" if reason else text
