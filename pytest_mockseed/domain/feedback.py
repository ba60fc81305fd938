"""User feedback: filter it, turn it into an issue occurrence, deliver it.

Every call leaves exactly one ``feedback`` row per event: ``filtered`` with
its reason, or ``accepted`` with the occurrence id and whether the broker
confirmed the occurrence. Input is checked before anything is written, so
hostile input ends in a :class:`ValidationError` and no row at all.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from pytest_mockseed.domain import feedback_rows, values
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.domain.feedback_prepare import (
    FeedbackOptions,
    PreparedFeedback,
    prepare,
)
from pytest_mockseed.domain.spam import SpamClassifier
from pytest_mockseed.models import (
    Feedback,
    FeedbackCreationSource,
    FeedbackStatus,
    Project,
    ProjectFlags,
)
from pytest_mockseed.producer import ConfirmingProducer, Delivery, DeliveryError

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
    prepared = prepare(event, options)
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
    with _collector_paused():
        prepared = [
            _prepare_at(index, event, options) for index, event in enumerate(events)
        ]
        return _record_and_send(session, options, prepared, producer)


def _prepare_at(
    index: int, event: object, options: FeedbackOptions
) -> PreparedFeedback:
    """Prepare the event at ``index`` of a batch; a refusal names the position."""
    try:
        return prepare(event, options)
    except ValidationError as error:
        raise ValidationError(f"events[{index}].{error.field}", error.message) from None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one batch call.

    A batch keeps every object it builds (events, occurrences, messages,
    rows, results) until it returns, so the collections its allocations
    trigger find nothing to free; with a few hundred thousand objects the
    older generations' passes cost a fifth of the call. Reference counting
    still frees everything else. The previous state is restored, so a
    caller that disabled the collector keeps it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _options(
    session: Session,
    project_id: object,
    source: object,
    spam_classifier: SpamClassifier | None,
    max_message_size: object,
    has_attachment: bool,
) -> FeedbackOptions:
    """Check the per-call arguments; the project must exist."""
    checked_id = values.row_id("project_id", project_id)
    project = session.get(Project, checked_id)
    if project is None:
        raise ValidationError("project_id", f"no project has id {checked_id}")

    return FeedbackOptions(
        project=project,
        source=values.member("source", FeedbackCreationSource, source),
        spam_classifier=spam_classifier,
        max_message_size=values.integer(
            "max_message_size", max_message_size, low=1, high=2**31 - 1
        ),
        has_attachment=bool(has_attachment),
    )


def _record_and_send(
    session: Session,
    options: FeedbackOptions,
    prepared: Sequence[PreparedFeedback],
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
            item.row | {"delivered": sending and bool(item.messages)}
            for item in prepared
        ],
    )
    written = _Written(rows, prepared)
    _mark_project(session, options, prepared)

    outgoing = [m for item in prepared if item.messages for m in item.messages.messages]
    if producer is None or not outgoing:
        return written.results([])

    try:
        deliveries: Sequence[Delivery | None] = producer.send_many(outgoing)
    except DeliveryError as error:
        confirmed = _spread(len(outgoing), error)
        feedback_rows.mark_undelivered(session, written.unconfirmed(confirmed))
        raise
    except BaseException:
        feedback_rows.mark_undelivered(session, written.unconfirmed([]))
        raise
    return written.results(deliveries)


class _Written:
    """The rows of one call, beside the messages each row's feedback sent."""

    def __init__(
        self, rows: Sequence[Feedback], prepared: Sequence[PreparedFeedback]
    ) -> None:
        self.rows = rows
        self.prepared = prepared
        self.spans: list[slice] = []
        position = 0
        for item in prepared:
            count = len(item.messages.messages) if item.messages else 0
            self.spans.append(slice(position, position + count))
            position += count

    def unconfirmed(self, deliveries: Sequence[Delivery | None]) -> list[Feedback]:
        """Accepted rows whose occurrence (first message) was not confirmed."""
        return [
            row
            for row, span in zip(self.rows, self.spans, strict=True)
            if span.stop > span.start
            and (span.start >= len(deliveries) or deliveries[span.start] is None)
        ]

    def results(self, deliveries: Sequence[Delivery | None]) -> list[FeedbackResult]:
        """Pair each row with its occurrence and its own confirmations."""
        return [
            FeedbackResult(
                row,
                item.messages.occurrence if item.messages else None,
                tuple(d for d in deliveries[span] if d is not None),
            )
            for row, item, span in zip(
                self.rows, self.prepared, self.spans, strict=True
            )
        ]


def _mark_project(
    session: Session, options: FeedbackOptions, prepared: Sequence[PreparedFeedback]
) -> None:
    """Set the first-feedback flags (rule 36) without racing other writers.

    Nothing is written when the loaded project already has the flags (they
    are never cleared). Otherwise the update only matches while a flag is
    missing, so concurrent callers never overwrite each other's bits.
    """
    flags = ProjectFlags(0)
    if any(item.messages for item in prepared):
        flags |= ProjectFlags.HAS_FEEDBACKS
        if options.source in _NEW_SOURCES:
            flags |= ProjectFlags.HAS_NEW_FEEDBACKS
    if not flags or options.project.flags & flags == flags:
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
