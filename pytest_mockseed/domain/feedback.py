"""User feedback: filter it, turn it into an issue occurrence, deliver it.

Every call leaves exactly one ``feedback`` row per event: ``filtered`` with
its reason, or ``accepted`` with the occurrence id and whether the broker
confirmed the occurrence. Input is checked before anything is written, so
hostile input ends in a :class:`ValidationError` and no row at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from pytest_mockseed.determinism import now
from pytest_mockseed.domain import feedback_event, feedback_rows, values
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.domain.feedback_event import FilterReason, SpamClassifier
from pytest_mockseed.domain.occurrence import (
    FeedbackMessages,
    build_occurrence,
    feedback_messages,
)
from pytest_mockseed.models import (
    Feedback,
    FeedbackCreationSource,
    FeedbackStatus,
    Project,
    ProjectFlags,
)
from pytest_mockseed.producer import (
    ConfirmingProducer,
    Delivery,
    DeliveryError,
    OutgoingMessage,
)

__all__ = [
    "FeedbackCreationSource",
    "FeedbackResult",
    "create_feedback_issue",
    "create_feedback_issues",
]

#: The one source the reference counts as "new" feedback (rule 36).
_NEW_SOURCES = frozenset({FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE})


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What one feedback became: its row, its occurrence, its deliveries."""

    feedback: Feedback
    occurrence: dict[str, Any] | None
    deliveries: tuple[Delivery, ...]

    @property
    def filtered(self) -> bool:
        """True when a filter dropped the feedback (see ``feedback.reason``)."""
        return self.feedback.status == FeedbackStatus.FILTERED

    @property
    def sent(self) -> bool:
        """True when the broker confirmed this feedback's messages."""
        return bool(self.deliveries)


@dataclass(frozen=True, slots=True)
class _Options:
    """The settings of one call, shared by every event of a batch."""

    project: Project
    source: FeedbackCreationSource
    spam_classifier: SpamClassifier | None
    max_message_size: int
    has_attachment: bool


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One checked feedback: its row values and, if accepted, its messages."""

    row: dict[str, Any]
    messages: FeedbackMessages | None


def create_feedback_issue(
    session: Session,
    event: Mapping[str, Any],
    project_id: int,
    source: FeedbackCreationSource | str,
    *,
    producer: ConfirmingProducer | None,
    spam_classifier: SpamClassifier | None = None,
    max_message_size: int = 4096,
    has_attachment: bool = False,
) -> FeedbackResult:
    """Run one feedback through the pipeline (rules 31-37) and record it.

    With ``producer=None`` nothing is sent and the row says so. When the
    broker does not confirm, the row is flushed with ``delivered`` false and
    :class:`DeliveryError` propagates. ``has_attachment`` only records that
    a screenshot came with the feedback.
    """
    options = _options(
        session, project_id, source, spam_classifier, max_message_size, has_attachment
    )
    prepared = _prepare(event, options)
    (result,) = _record_and_send(session, options, [prepared], producer)
    return result


def create_feedback_issues(
    session: Session,
    events: Sequence[Mapping[str, Any]],
    project_id: int,
    source: FeedbackCreationSource | str,
    *,
    producer: ConfirmingProducer | None,
    spam_classifier: SpamClassifier | None = None,
    max_message_size: int = 4096,
) -> list[FeedbackResult]:
    """Run a batch of feedback with one insert and one confirmation wait.

    All events are checked first: one bad event raises a
    :class:`ValidationError` naming its position, and nothing is written.
    """
    options = _options(
        session, project_id, source, spam_classifier, max_message_size, False
    )
    prepared = []
    for index, event in enumerate(events):
        try:
            prepared.append(_prepare(event, options))
        except ValidationError as error:
            field = f"events[{index}].{error.field}"
            raise ValidationError(field, error.message) from None

    return _record_and_send(session, options, prepared, producer)


def _options(
    session: Session,
    project_id: object,
    source: object,
    spam_classifier: SpamClassifier | None,
    max_message_size: object,
    has_attachment: bool,
) -> _Options:
    """Check the per-call arguments; the project must exist."""
    checked_id = values.integer("project_id", project_id, low=1, high=2**63 - 1)
    project = session.get(Project, checked_id)
    if project is None:
        raise ValidationError("project_id", f"no project has id {checked_id}")

    return _Options(
        project=project,
        source=values.member("source", FeedbackCreationSource, source),
        spam_classifier=spam_classifier,
        max_message_size=values.integer(
            "max_message_size", max_message_size, low=1, high=2**31 - 1
        ),
        has_attachment=bool(has_attachment),
    )


def _prepare(event: object, options: _Options) -> _Prepared:
    """Check, filter and (when accepted) build the messages of one event."""
    if not isinstance(event, Mapping):
        raise ValidationError("event", "must be an object")

    fields = feedback_event.read_fields(event)
    row = _row(fields, options)
    reason = feedback_event.filter_reason(event, fields, options.max_message_size)
    if reason is not None or fields.message is None:
        row["reason"] = (reason or FilterReason.MISSING_CONTEXT).value
        return _Prepared(row, None)

    messages = _messages(event, fields, fields.message, options)
    row.update(
        status=FeedbackStatus.ACCEPTED,
        is_spam="is_spam" in messages.occurrence["evidence_data"],
        occurrence_id=messages.occurrence["id"],
    )
    return _Prepared(row, messages)


def _row(fields: feedback_event.FeedbackFields, options: _Options) -> dict[str, Any]:
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
    fields: feedback_event.FeedbackFields,
    message: str,
    options: _Options,
) -> FeedbackMessages:
    """Normalise the event, check for spam and encode the messages."""
    project = options.project
    timestamp = feedback_event.event_time(event)
    normalized = feedback_event.normalize_event(event, project.id, fields, timestamp)
    spam = feedback_event.is_spam(message, options.spam_classifier)

    occurrence = build_occurrence(
        normalized,
        normalized["contexts"]["feedback"],
        options.source,
        timestamp,
        is_spam=spam,
    )
    return feedback_messages(occurrence, project.organization_id, is_spam=spam)


def _record_and_send(
    session: Session,
    options: _Options,
    prepared: Sequence[_Prepared],
    producer: ConfirmingProducer | None,
) -> list[FeedbackResult]:
    """Write the rows, mark the project, produce, and correct on failure.

    Rows go in first, so a database that refuses them stops the call before
    anything reaches the broker. Accepted rows are written as delivered
    when there is a producer: that state only becomes visible when the
    caller commits, which it can only do after this call returned or
    raised, and every failure below rewrites the rows it concerns first.
    Success, the common case, then costs no second statement.
    """
    sending = producer is not None
    rows = feedback_rows.insert_rows(
        session,
        [
            item.row | {"delivered": sending and item.messages is not None}
            for item in prepared
        ],
    )
    _mark_project(session, options, prepared)

    outgoing = [m for item in prepared if item.messages for m in item.messages.messages]
    if producer is None or not outgoing:
        return _results(rows, prepared, [])

    deliveries = _send(session, producer, outgoing, rows, prepared)
    return _results(rows, prepared, deliveries)


def _send(
    session: Session,
    producer: ConfirmingProducer,
    outgoing: Sequence[OutgoingMessage],
    rows: Sequence[Feedback],
    prepared: Sequence[_Prepared],
) -> Sequence[Delivery | None]:
    """Produce the batch; on any failure mark the unconfirmed rows first."""
    try:
        return producer.send_many(outgoing)
    except DeliveryError as error:
        _mark_undelivered(session, rows, prepared, _spread(len(outgoing), error))
        raise
    except BaseException:
        _mark_undelivered(session, rows, prepared, [None] * len(outgoing))
        raise


def _mark_project(
    session: Session, options: _Options, prepared: Sequence[_Prepared]
) -> None:
    """Set the first-feedback flags (rule 36) without racing other writers.

    The update only matches while a flag is missing, so concurrent callers
    never overwrite each other's bits and later calls take no row lock.
    """
    flags = ProjectFlags(0)
    if any(item.messages for item in prepared):
        flags |= ProjectFlags.HAS_FEEDBACKS
        if options.source in _NEW_SOURCES:
            flags |= ProjectFlags.HAS_NEW_FEEDBACKS
    if not flags:
        return

    bits = int(flags)
    session.execute(
        update(Project)
        .where(Project.id == options.project.id)
        .where(Project.flags.op("&")(bits) != bits)
        .values(flags=Project.flags.op("|")(bits))
        .execution_options(synchronize_session="fetch")
    )


def _spread(count: int, error: DeliveryError) -> list[Delivery | None]:
    """Put a partial failure's confirmations back at their positions."""
    failed = set(error.failed)
    confirmed = iter(error.confirmed)
    return [None if i in failed else next(confirmed) for i in range(count)]


def _mark_undelivered(
    session: Session,
    rows: Sequence[Feedback],
    prepared: Sequence[_Prepared],
    deliveries: Sequence[Delivery | None],
) -> None:
    """Record that the broker did not confirm these rows' occurrences."""
    undelivered = []
    position = 0
    for row, item in zip(rows, prepared, strict=True):
        if item.messages is None:
            continue
        if deliveries[position] is None:
            undelivered.append(row)
        position += len(item.messages.messages)

    feedback_rows.mark_undelivered(session, undelivered)


def _results(
    rows: Sequence[Feedback],
    prepared: Sequence[_Prepared],
    deliveries: Sequence[Delivery | None],
) -> list[FeedbackResult]:
    """Pair each row with its occurrence and its own confirmations."""
    results = []
    position = 0
    for row, item in zip(rows, prepared, strict=True):
        count = len(item.messages.messages) if item.messages else 0
        mine = deliveries[position : position + count]
        occurrence = item.messages.occurrence if item.messages else None
        confirmed = tuple(d for d in mine if d is not None)
        results.append(FeedbackResult(row, occurrence, confirmed))
        position += count
    return results
