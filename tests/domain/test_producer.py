"""ConfirmingProducer against the run's real broker and against no broker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_mockseed.determinism import new_uuid_hex
from pytest_mockseed.producer import (
    ConfirmingProducer,
    Delivery,
    DeliveryError,
    OutgoingMessage,
)
from pytest_mockseed.services.handles import KafkaHandle

#: Tansu creates topics on first produce with this many partitions.
AUTO_PARTITIONS = 4


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def producer(mockseed_kafka: KafkaHandle) -> Iterator[ConfirmingProducer]:
    with ConfirmingProducer(mockseed_kafka.bootstrap_servers) as producer:
        yield producer


@pytest.fixture
def topic() -> str:
    return f"test-producer-{new_uuid_hex()}"


def test_send_returns_where_the_broker_stored_the_message(
    producer: ConfirmingProducer, mockseed_kafka: KafkaHandle, topic: str
) -> None:
    delivery = producer.send(topic, b'{"hello": 1}', key=b"k-1")

    assert delivery.topic == topic
    assert 0 <= delivery.partition < AUTO_PARTITIONS
    assert delivery.offset >= 0
    assert (delivery.key, delivery.value) == (b"k-1", b'{"hello": 1}')
    (stored,) = mockseed_kafka.messages(topic)
    assert (stored.partition, stored.offset) == (delivery.partition, delivery.offset)
    assert (stored.key, stored.value) == (b"k-1", b'{"hello": 1}')


def test_send_without_a_key(producer: ConfirmingProducer, topic: str) -> None:
    delivery = producer.send(topic, b"no key")

    assert delivery.key is None


def test_delivery_is_frozen(producer: ConfirmingProducer, topic: str) -> None:
    delivery = producer.send(topic, b"x")

    with pytest.raises(AttributeError):
        delivery.offset = 99  # type: ignore[misc]


def test_send_many_confirms_every_message_in_order(
    producer: ConfirmingProducer, mockseed_kafka: KafkaHandle, topic: str
) -> None:
    messages = [
        OutgoingMessage(topic, f"v{i}".encode(), f"k{i}".encode()) for i in range(500)
    ]

    deliveries = producer.send_many(messages)

    assert [d.value for d in deliveries] == [m.value for m in messages]
    stored = mockseed_kafka.messages(topic)
    assert len(stored) == 500
    assert {(m.partition, m.offset) for m in stored} == {
        (d.partition, d.offset) for d in deliveries
    }


def test_send_many_accepts_plain_tuples(
    producer: ConfirmingProducer, topic: str
) -> None:
    deliveries = producer.send_many([(topic, b"a", None), (topic, b"b", b"key")])

    assert [(d.value, d.key) for d in deliveries] == [(b"a", None), (b"b", b"key")]


def test_send_many_of_nothing_returns_nothing(producer: ConfirmingProducer) -> None:
    assert producer.send_many([]) == []


def test_a_large_batch_is_confirmed_whole_each_message_in_its_own_place(
    producer: ConfirmingProducer, mockseed_kafka: KafkaHandle, topic: str
) -> None:
    """The benchmark measures how fast; this checks nothing is lost or doubled."""
    value = b"x" * 1500  # about the size of a feedback occurrence
    messages = [OutgoingMessage(topic, value, str(i).encode()) for i in range(20_000)]

    deliveries = producer.send_many(messages)

    assert [d.key for d in deliveries] == [m.key for m in messages]
    places = {(d.partition, d.offset) for d in deliveries}
    assert len(places) == 20_000
    assert len(mockseed_kafka.messages(topic)) == 20_000


def test_threads_can_share_one_producer(
    producer: ConfirmingProducer, mockseed_kafka: KafkaHandle, topic: str
) -> None:
    results: list[list[Delivery]] = []
    errors: list[BaseException] = []

    def send_batch(thread: int) -> None:
        batch = [OutgoingMessage(topic, f"{thread}-{i}".encode()) for i in range(250)]
        try:
            results.append(producer.send_many(batch))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=send_batch, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(len(batch) for batch in results) == [250] * 8
    assert len(mockseed_kafka.messages(topic)) == 2000


def test_a_dead_broker_fails_within_the_timeout_with_a_clear_error(topic: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    producer = ConfirmingProducer(address, delivery_timeout=1.0)

    started = time.monotonic()
    with pytest.raises(DeliveryError) as raised:
        producer.send(topic, b"lost?")
    elapsed = time.monotonic() - started
    producer.close()

    assert 0.9 <= elapsed < 3.5
    message = str(raised.value)
    assert topic in message
    assert address in message
    assert "timeout after 1 s" in message
    assert raised.value.failed == (0,)
    assert raised.value.confirmed == ()


def test_a_dead_broker_fails_every_message_of_a_batch(topic: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    batch = [OutgoingMessage(topic, b"%d" % i) for i in range(50)]
    with (
        ConfirmingProducer(address, delivery_timeout=0.5) as producer,
        pytest.raises(DeliveryError) as raised,
    ):
        producer.send_many(batch)

    assert raised.value.failed == tuple(range(50))
    assert raised.value.bootstrap_servers.startswith("127.0.0.1:")


def test_close_is_bounded_with_a_dead_broker(topic: str) -> None:
    producer = ConfirmingProducer(f"127.0.0.1:{free_port()}", delivery_timeout=0.5)
    with pytest.raises(DeliveryError):
        producer.send(topic, b"x")

    started = time.monotonic()
    producer.close()

    assert time.monotonic() - started < 1.5


def test_a_message_the_broker_refuses_fails_alone(
    producer: ConfirmingProducer, topic: str
) -> None:
    too_big = b"x" * 2_000_000  # above librdkafka's default message.max.bytes
    batch = [OutgoingMessage(topic, b"first"), OutgoingMessage(topic, too_big)]
    batch.append(OutgoingMessage(topic, b"third"))

    with pytest.raises(DeliveryError) as raised:
        producer.send_many(batch)

    assert raised.value.failed == (1,)
    assert [d.value for d in raised.value.confirmed] == [b"first", b"third"]
    assert "too large" in raised.value.reason.lower()


def test_close_is_idempotent_and_final(mockseed_kafka: KafkaHandle, topic: str) -> None:
    producer = ConfirmingProducer(mockseed_kafka.bootstrap_servers)
    producer.send(topic, b"before")

    producer.close()
    producer.close()

    with pytest.raises(RuntimeError, match="closed"):
        producer.send(topic, b"after")


def test_the_context_manager_closes(mockseed_kafka: KafkaHandle, topic: str) -> None:
    with ConfirmingProducer(mockseed_kafka.bootstrap_servers) as producer:
        producer.send(topic, b"inside")

    with pytest.raises(RuntimeError):
        producer.send(topic, b"outside")


def test_extra_settings_reach_librdkafka(
    mockseed_kafka: KafkaHandle, topic: str
) -> None:
    settings: dict[str, Any] = {"linger.ms": 0, "compression.type": "gzip"}
    with ConfirmingProducer(mockseed_kafka.bootstrap_servers, **settings) as producer:
        assert producer.send(topic, b"compressed").value == b"compressed"


def test_a_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="delivery_timeout"):
        ConfirmingProducer("127.0.0.1:9092", delivery_timeout=0)
