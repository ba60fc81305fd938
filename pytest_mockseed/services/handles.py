"""The handles every rung returns, so callers never care which rung ran."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_mockseed.services.kafka import KafkaMessage


def _nothing_to_stop() -> None:
    """Stop nothing: the service belongs to the user."""


def _not_watched() -> str | None:
    """Report nothing: a server the user runs is theirs to watch."""
    return None


@dataclass
class PostgresHandle:
    """A running PostgreSQL server.

    ``url`` is a SQLAlchemy URL (psycopg 3 driver) to a database the plugin
    may use for administration (creating and dropping its own databases).
    """

    url: str
    backend: str
    version: str
    address: str
    detail: str = ""
    stop: Callable[[], None] = field(default=_nothing_to_stop, repr=False)
    #: ``None`` while a server we started runs; else how it ended.
    exit_reason: Callable[[], str | None] = field(default=_not_watched, repr=False)


@dataclass
class KafkaHandle:
    """A running Kafka-protocol broker."""

    bootstrap_servers: str
    backend: str
    version: str
    detail: str = ""
    stop: Callable[[], None] = field(default=_nothing_to_stop, repr=False)
    #: ``None`` while a broker we started runs; else how it ended.
    exit_reason: Callable[[], str | None] = field(default=_not_watched, repr=False)

    def messages(self, topic: str, timeout: float = 10.0) -> list[KafkaMessage]:
        """Return every message on ``topic`` from its start to its end now.

        Reads without joining a consumer group, waiting up to ``timeout``
        seconds for the topic to exist; an empty list if it never does.
        """
        from pytest_mockseed.services.kafka import read_topic

        return read_topic(self.bootstrap_servers, topic, timeout)
