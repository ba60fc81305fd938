"""Application code under test: a consumer that lists user feedback from Kafka.

It reads the ``ingest-occurrences`` topic the way a small service would, and
keeps only feedback occurrences (group type 6001).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition

FEEDBACK_TYPE = 6001


@dataclass(frozen=True)
class FeedbackItem:
    """One piece of user feedback as the inbox lists it."""

    occurrence_id: str
    project_id: int
    message: str
    contact_email: str | None


def read_inbox(bootstrap: str, topic: str = "ingest-occurrences") -> list[FeedbackItem]:
    """Every feedback occurrence on ``topic``, oldest first in each partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "feedback-inbox",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        return _drain(consumer, set(partitions))
    finally:
        consumer.close()


def _drain(consumer: Consumer, open_partitions: set[int]) -> list[FeedbackItem]:
    items = []
    while open_partitions:
        message = consumer.poll(5)
        if message is None:
            break
        error = message.error()
        if error is not None and error.code() == KafkaError._PARTITION_EOF:
            open_partitions.discard(message.partition())
        elif error is None:
            items.extend(_feedback(json.loads(message.value())))
    return items


def _feedback(occurrence: dict[str, object]) -> list[FeedbackItem]:
    if (
        occurrence.get("payload_type") != "occurrence"
        or occurrence.get("type") != FEEDBACK_TYPE
    ):
        return []
    evidence = occurrence.get("evidence_data") or {}
    assert isinstance(evidence, dict)
    return [
        FeedbackItem(
            occurrence_id=str(occurrence["id"]),
            project_id=int(str(occurrence["project_id"])),
            message=str(evidence.get("message", "")),
            contact_email=evidence.get("contact_email"),
        )
    ]
