"""Kafka figure: feedback occurrences confirmed a second, beside raw confirmed sends."""

from __future__ import annotations

import json
import time

from benchmarks.report import Figure
from pytest_mockseed.database import rolled_back_session
from pytest_mockseed.domain import FeedbackCreationSource, create_feedback_issues
from pytest_mockseed.isolation import SeededDatabases
from pytest_mockseed.producer import ConfirmingProducer, OutgoingMessage
from pytest_mockseed.scenario import FEEDBACK_PROJECT, mock_feedback_event

_RAW_TOPIC = "mockseed-bench-raw"


def _feedback_batch(
    databases: SeededDatabases, producer: ConfirmingProducer, size: int
) -> tuple[float, int, int, bytes]:
    """Seconds for one batch call, occurrences confirmed, messages, one occurrence."""
    project_id = databases.template.world.project_id(FEEDBACK_PROJECT)
    events = [mock_feedback_event(project_id) for _ in range(size)]
    with rolled_back_session(databases.working) as session:
        started = time.perf_counter()
        results = create_feedback_issues(
            session,
            events,
            project_id,
            FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE,
            producer=producer,
        )
        took = time.perf_counter() - started
    sent = [result for result in results if result.sent]
    messages = sum(len(result.deliveries) for result in sent)
    sample = json.dumps(sent[0].occurrence).encode() if sent else b"{}"
    return took, len(sent), messages, sample


def _raw_sends(producer: ConfirmingProducer, value: bytes, size: int) -> float:
    """Seconds to confirm ``size`` messages of ``value`` with one ``send_many``."""
    messages = [OutgoingMessage(_RAW_TOPIC, value) for _ in range(size)]
    started = time.perf_counter()
    producer.send_many(messages)
    return time.perf_counter() - started


def kafka_figure(databases: SeededDatabases, bootstrap: str, size: int) -> Figure:
    """Occurrences confirmed a second by ``create_feedback_issues`` (≥ 5,000/s)."""
    with ConfirmingProducer(bootstrap, delivery_timeout=30.0) as producer:
        *_, value = _feedback_batch(databases, producer, 10)  # create the topics
        _raw_sends(producer, value, 10)
        took, sent, messages, value = _feedback_batch(databases, producer, size)
        raw = _raw_sends(producer, value, messages)

    # The baseline confirms as many messages as the pipeline produced
    # (occurrence and outcome), so both rates are in feedbacks a second.
    rate = sent / took
    raw_rate = size / raw
    return Figure(
        f"feedback batch of {size:,}: occurrences confirmed/s",
        f"{rate:,.0f}/s",
        f"raw send_many {raw_rate:,.0f}/s",
        f"{rate / raw_rate:.2f}x of raw",
        ">= 5,000/s",
        rate >= 5000,
        note=f"{sent:,} of {size:,} confirmed in {took:.2f} s (checks, one insert, "
        f"one wait); raw: send_many of the same {messages:,} messages "
        f"({len(value):,}-byte occurrence value), no database",
    )
