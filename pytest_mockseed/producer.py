"""The one way pytest-mockseed produces to Kafka: every message confirmed.

A seeded world that silently lost its feedback occurrence would make the
tests built on it lie, so nothing here is fire-and-forget. Each call
produces, then waits until the broker has acknowledged every message
(``acks=all``) or until ``delivery_timeout`` has passed, and raises
:class:`DeliveryError` in the second case. librdkafka's own timeouts are
set from the same figure, so a dead broker fails a call in bounded time
instead of leaving messages queued for ever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from confluent_kafka import KafkaError, KafkaException, Message, Producer

__all__ = ["ConfirmingProducer", "Delivery", "DeliveryError", "OutgoingMessage"]

logger = logging.getLogger(__name__)

#: Extra seconds to wait past librdkafka's message timeout, so that its own
#: failure report (which names the cause) normally arrives before ours.
_GRACE_SECONDS = 1.0

#: How long one ``poll`` may block while waiting for confirmations.
_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message the broker has confirmed, and where it was stored."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class DeliveryError(Exception):
    """At least one message was not confirmed by the broker in time.

    ``confirmed`` holds the messages of the same call that did arrive, and
    ``failed`` the positions (in the order given) of those that did not, so
    a caller can record exactly what was delivered.
    """

    def __init__(
        self,
        topic: str,
        bootstrap_servers: str,
        reason: str,
        *,
        confirmed: Sequence[Delivery] = (),
        failed: Sequence[int] = (),
    ) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.reason = reason
        self.confirmed = tuple(confirmed)
        self.failed = tuple(failed)
        super().__init__(
            f"Kafka did not confirm {len(self.failed) or 'a'} message(s) to topic "
            f"{topic!r} at {bootstrap_servers}: {reason}"
        )


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to produce: the topic, the value and an optional key."""

    topic: str
    value: bytes
    key: bytes | None = None


class _LibrdkafkaLog:
    """Route librdkafka's log lines to our logger at debug level.

    A dead broker makes librdkafka log every reconnect attempt as an error;
    the failure already reaches the caller as :class:`DeliveryError`, so
    those lines are detail for debugging, not news.
    """

    def log(self, level: int, message: str, *args: object) -> None:
        """Take a record in the shape of :meth:`logging.Logger.log`."""
        logger.debug("librdkafka: " + message, *args)


class _Batch:
    """Collects the broker's verdicts for the messages of one call.

    Callbacks may run on whichever thread happens to poll the shared
    producer, so the batch counts them under a lock and wakes its waiter.
    """

    def __init__(self, size: int) -> None:
        self.deliveries: list[Delivery | None] = [None] * size
        self.errors: dict[int, str] = {}
        self._outstanding = size
        self._lock = threading.Lock()
        self.done = threading.Event()
        if size == 0:
            self.done.set()

    def callback_for(self, index: int) -> Callable[[KafkaError | None, Message], None]:
        """Return the delivery callback for the message at ``index``."""

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            self._record(index, error, message)

        return on_delivery

    def forget(self, index: int, reason: str) -> None:
        """Count a message that never reached librdkafka's queue as failed."""
        with self._lock:
            self.errors[index] = reason
            self._finish_one()

    def _record(self, index: int, error: KafkaError | None, message: Message) -> None:
        with self._lock:
            if error is not None:
                self.errors[index] = error.str()
            else:
                self.deliveries[index] = Delivery(
                    topic=message.topic() or "",
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                    key=message.key(),
                    value=message.value() or b"",
                )
            self._finish_one()

    def _finish_one(self) -> None:
        self._outstanding -= 1
        if self._outstanding == 0:
            self.done.set()


class ConfirmingProducer:
    """A Kafka producer whose every send waits for the broker's confirmation.

    :param bootstrap_servers: the broker address list, ``host:port[,...]``.
    :param delivery_timeout: seconds a message may take to be confirmed;
        also the bound on how long a dead broker can make a call wait.
    :param extra_config: more librdkafka settings under their own dotted
        names (pass them as ``**{"linger.ms": 20}``); they win over ours.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        delivery_timeout: float = 5.0,
        **extra_config: Any,
    ) -> None:
        if delivery_timeout <= 0:
            raise ValueError("delivery_timeout must be positive")

        self.bootstrap_servers = bootstrap_servers
        self.delivery_timeout = delivery_timeout
        self._last_broker_error: str | None = None
        self._closed = False
        config = self._base_config(bootstrap_servers, delivery_timeout)
        config.update(extra_config)
        self._producer = Producer(config)

    def _base_config(self, bootstrap_servers: str, timeout: float) -> dict[str, Any]:
        """Settings that bound every wait by ``timeout`` and confirm fully."""
        timeout_ms = max(int(timeout * 1000), 10)
        return {
            "bootstrap.servers": bootstrap_servers,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": timeout_ms,
            "request.timeout.ms": timeout_ms,
            "socket.timeout.ms": max(timeout_ms, 100),
            "socket.connection.setup.timeout.ms": max(timeout_ms, 1000),
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "error_cb": self._on_broker_error,
            "logger": _LibrdkafkaLog(),
        }

    def _on_broker_error(self, error: KafkaError) -> None:
        """Keep the latest client-level error to explain a later timeout."""
        self._last_broker_error = error.str()
        logger.debug("producer: broker error at %s: %s", self.bootstrap_servers, error)

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> Delivery:
        """Produce one message and return it once the broker confirms it."""
        (delivery,) = self.send_many([OutgoingMessage(topic, value, key)])
        return delivery

    def send_many(
        self, messages: Iterable[OutgoingMessage | tuple[str, bytes, bytes | None]]
    ) -> list[Delivery]:
        """Produce a batch and wait once until all of it is confirmed.

        Messages may be :class:`OutgoingMessage` objects or plain
        ``(topic, value, key)`` tuples. The result is in the order given.
        """
        if self._closed:
            raise RuntimeError("this ConfirmingProducer is closed")

        batch_messages = [_as_message(message) for message in messages]
        batch = _Batch(len(batch_messages))
        deadline = time.monotonic() + self.delivery_timeout + _GRACE_SECONDS

        for index, message in enumerate(batch_messages):
            self._enqueue(batch, index, message, deadline)
        self._wait(batch, deadline)

        return self._result(batch, batch_messages)

    def _enqueue(
        self, batch: _Batch, index: int, message: OutgoingMessage, deadline: float
    ) -> None:
        """Hand one message to librdkafka, waiting for queue space if needed."""
        while True:
            try:
                self._producer.produce(
                    message.topic,
                    value=message.value,
                    key=message.key,
                    on_delivery=batch.callback_for(index),
                )
                return
            except BufferError:
                if time.monotonic() >= deadline:
                    batch.forget(index, "the local send queue stayed full")
                    return
                self._producer.poll(_POLL_SECONDS)
            except (KafkaException, TypeError, ValueError) as error:
                batch.forget(index, str(error))
                return

    def _wait(self, batch: _Batch, deadline: float) -> None:
        """Serve delivery callbacks until the batch is complete or time is up."""
        while not batch.done.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._producer.poll(min(remaining, _POLL_SECONDS))

    def _result(
        self, batch: _Batch, messages: Sequence[OutgoingMessage]
    ) -> list[Delivery]:
        """Return the confirmations, or raise for what was not confirmed."""
        confirmed = [delivery for delivery in batch.deliveries if delivery is not None]
        if len(confirmed) == len(messages):
            return confirmed

        failed = [i for i, delivery in enumerate(batch.deliveries) if delivery is None]
        first = failed[0]
        raise DeliveryError(
            messages[first].topic,
            self.bootstrap_servers,
            self._reason(batch.errors.get(first)),
            confirmed=confirmed,
            failed=failed,
        )

    def _reason(self, error: str | None) -> str:
        """Say why a message failed, with the broker error that explains it."""
        timeout = f"timeout after {self.delivery_timeout:g} s"
        if error is None:
            reason = f"{timeout} (no confirmation)"
        elif "timed out" in error.lower():
            reason = f"{timeout} ({error})"
        else:
            reason = error
        if self._last_broker_error and self._last_broker_error not in reason:
            reason = f"{reason}; last broker error: {self._last_broker_error}"
        return reason

    def close(self) -> None:
        """Flush what is still queued, within the delivery timeout; idempotent.

        Anything still unconfirmed after that is purged, so closing never
        hangs; such messages were already reported by the call that sent
        them.
        """
        if self._closed:
            return

        self._closed = True
        remaining = self._producer.flush(self.delivery_timeout)
        if remaining:
            logger.warning(
                "producer: %d message(s) to %s unconfirmed at close; purged",
                remaining,
                self.bootstrap_servers,
            )
            self._producer.purge()
            self._producer.poll(0)

        # Close the client's connections now: until they close, a broker
        # such as Tansu takes seconds to honour SIGTERM. Older clients have
        # no close(); theirs go when the object is collected.
        close_client = getattr(self._producer, "close", None)
        if close_client is not None:
            close_client()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _as_message(
    message: OutgoingMessage | tuple[str, bytes, bytes | None],
) -> OutgoingMessage:
    """Accept the plain tuple form as well as :class:`OutgoingMessage`."""
    if isinstance(message, OutgoingMessage):
        return message
    topic, value, key = message
    return OutgoingMessage(topic, value, key)
