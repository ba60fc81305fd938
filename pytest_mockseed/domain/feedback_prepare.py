"""Preparing one feedback: check it, filter it, build its messages.

Pure except for reading the project's ids: nothing here writes to the
database or talks to the broker, so a batch is checked completely before
any of it is written (see :mod:`.feedback`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_mockseed.determinism import now
from pytest_mockseed.domain import feedback_event
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.domain.feedback_event import FeedbackFields, FilterReason
from pytest_mockseed.domain.occurrence import (
    FeedbackMessages,
    build_occurrence,
    feedback_messages,
)
from pytest_mockseed.domain.spam import SpamClassifier, is_spam
from pytest_mockseed.models import FeedbackCreationSource, FeedbackStatus, Project


@dataclass(frozen=True, slots=True)
class FeedbackOptions:
    """The settings of one call, shared by every event of a batch."""

    project: Project
    source: FeedbackCreationSource
    spam_classifier: SpamClassifier | None
    max_message_size: int
    has_attachment: bool


@dataclass(frozen=True, slots=True)
class PreparedFeedback:
    """One checked feedback: its row values and, if accepted, its messages."""

    row: dict[str, Any]
    messages: FeedbackMessages | None


def prepare(event: object, options: FeedbackOptions) -> PreparedFeedback:
    """Check, filter and (when accepted) build the messages of one event."""
    if not isinstance(event, Mapping):
        raise ValidationError("event", "must be an object")

    fields = feedback_event.read_fields(event)
    row = _row(fields, options)
    reason = feedback_event.filter_reason(event, fields, options.max_message_size)
    if reason is not None or fields.message is None:
        row["reason"] = (reason or FilterReason.MISSING_CONTEXT).value
        return PreparedFeedback(row, None)

    messages = _messages(event, fields, fields.message, options)
    row.update(
        status=FeedbackStatus.ACCEPTED,
        is_spam=messages.is_spam,
        occurrence_id=messages.occurrence["id"],
    )
    return PreparedFeedback(row, messages)


def _row(fields: FeedbackFields, options: FeedbackOptions) -> dict[str, Any]:
    """Every column of a feedback row; filtered until proven otherwise."""
    return {
        "project_id": options.project.id,
        "event_id": fields.event_id,
        "message": fields.message,
        "contact_email": fields.contact_email,
        "name": fields.name,
        "source": options.source,
        "status": FeedbackStatus.FILTERED,
        "reason": None,
        "is_spam": None,
        "occurrence_id": None,
        "delivered": False,
        "has_attachment": options.has_attachment,
        "date_added": now(),
    }


def _messages(
    event: Mapping[str, Any],
    fields: FeedbackFields,
    message: str,
    options: FeedbackOptions,
) -> FeedbackMessages:
    """Normalise the event, check for spam and encode the messages."""
    project = options.project
    timestamp = feedback_event.event_time(event)
    normalized = feedback_event.normalize_event(event, project.id, fields, timestamp)
    spam = is_spam(message, options.spam_classifier)

    occurrence = build_occurrence(
        normalized,
        normalized["contexts"]["feedback"],
        options.source,
        timestamp,
        is_spam=spam,
    )
    return feedback_messages(occurrence, project.organization_id, is_spam=spam)
