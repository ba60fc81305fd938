"""The pure steps of the feedback pipeline: read, filter and normalise.

Nothing here touches the database or the broker, so every step can be
tested (and fuzzed) on plain dictionaries. The numbers in the docstrings are
the business rules of DOMAIN.md section 3.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pytest_mockseed.determinism import new_uuid_hex, now
from pytest_mockseed.domain import values
from pytest_mockseed.domain.errors import ValidationError

#: The message an Unreal Engine crash reporter sends when nobody typed one.
UNATTENDED_MESSAGE = "Sent in the unattended mode"

#: Longest text the ``feedback`` table keeps for a contact email or a name.
MAX_CONTACT_LENGTH = 200

EVENT_LEVELS = frozenset({"fatal", "error", "warning", "info", "debug"})


class FilterReason(StrEnum):
    """Why the pipeline dropped a feedback without producing an occurrence."""

    MISSING_CONTEXT = "missing_context"
    UNREAL_UNATTENDED = "unreal.unattended"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    INVALID_ASSOCIATED_EVENT_ID = "invalid_associated_event_id"


@dataclass(frozen=True, slots=True)
class FeedbackFields:
    """The values of a feedback that its database row stores."""

    event_id: str
    message: str | None
    contact_email: str | None
    name: str | None


def feedback_context(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return ``contexts.feedback`` when both levels are mappings."""
    contexts = event.get("contexts")
    if not isinstance(contexts, Mapping):
        return None

    feedback = contexts.get("feedback")
    return feedback if isinstance(feedback, Mapping) else None


def read_fields(event: Mapping[str, Any]) -> FeedbackFields:
    """Read and check what the row will store, before anything is written."""
    feedback = feedback_context(event) or {}
    prefix = "contexts.feedback"
    return FeedbackFields(
        event_id=event_id_of(event),
        message=values.optional_text(f"{prefix}.message", feedback.get("message")),
        contact_email=values.optional_text(
            f"{prefix}.contact_email",
            feedback.get("contact_email"),
            max_length=MAX_CONTACT_LENGTH,
        ),
        name=values.optional_text(
            f"{prefix}.name", feedback.get("name"), max_length=MAX_CONTACT_LENGTH
        ),
    )


def event_id_of(event: Mapping[str, Any]) -> str:
    """Return the event's id as 32 hex characters, making one when absent."""
    raw = event.get("event_id")
    if raw is None:
        return new_uuid_hex()

    parsed = _uuid_or_none(raw)
    if parsed is None:
        raise ValidationError("event_id", "must be a UUID (32 hex characters)")
    return parsed.hex


def filter_reason(
    event: Mapping[str, Any], fields: FeedbackFields, max_message_size: int
) -> FilterReason | None:
    """Say why the feedback is filtered out, or ``None`` to keep it (rule 31)."""
    message = fields.message
    if message is None:
        return FilterReason.MISSING_CONTEXT
    if message == UNATTENDED_MESSAGE:
        return FilterReason.UNREAL_UNATTENDED
    if not message.strip():
        return FilterReason.EMPTY
    if len(message) > max_message_size:
        return FilterReason.TOO_LARGE

    associated = (feedback_context(event) or {}).get("associated_event_id")
    if associated is not None and _uuid_or_none(associated) is None:
        return FilterReason.INVALID_ASSOCIATED_EVENT_ID
    return None


def event_time(event: Mapping[str, Any], key: str = "timestamp") -> datetime:
    """Read an event time given as epoch seconds, ISO text or a datetime."""
    raw = event.get(key)
    if raw is None:
        return now()

    try:
        parsed = _parse_time(raw)
    except (ValueError, TypeError, OverflowError, OSError):
        parsed = None
    if parsed is None:
        raise ValidationError(key, "must be epoch seconds, ISO-8601 text or a datetime")
    return parsed


def _parse_time(raw: object) -> datetime | None:
    """Turn one accepted time form into an aware UTC datetime."""
    if isinstance(raw, datetime):
        parsed = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            return None
        parsed = datetime.fromtimestamp(raw, UTC)
    elif isinstance(raw, str):
        parsed = datetime.fromisoformat(raw)
    else:
        return None

    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    parsed.timestamp()  # refuses the few instants a float cannot hold
    return parsed


def normalize_event(
    event: Mapping[str, Any],
    project_id: int,
    fields: FeedbackFields,
    timestamp: datetime,
) -> dict[str, Any]:
    """Build the event the issue platform expects (rules 34 and 35).

    This is the reference variant: the caller's ``received`` survives
    untouched and ``release`` is dropped. Nested values are shared with the
    caller's event, not copied; :func:`~.occurrence.encode` checks that they
    are JSON when the occurrence is encoded.
    """
    contexts = dict(event["contexts"])
    _add_replay_context(contexts)
    user = _user(event, fields.contact_email)

    return {
        "event_id": fields.event_id,
        "project_id": project_id,
        "timestamp": values.utc_isoformat(timestamp),
        "received": _received(event),
        "contexts": contexts,
        "platform": _word(event, "platform", "other"),
        "level": _level(event),
        "environment": _word(event, "environment", "production"),
        "request": _object(event, "request"),
        "user": user,
        "tags": _tags(event, user, contexts),
        "logentry": {"message": fields.message},
    }


def _received(event: Mapping[str, Any]) -> str:
    """Keep a caller's ``received`` text as given; render other forms."""
    raw = event.get("received")
    if isinstance(raw, str):
        return values.text("received", raw)
    return values.utc_isoformat(event_time(event, "received"))


def _word(event: Mapping[str, Any], key: str, default: str) -> str:
    """Read a short text attribute of the event, with its default."""
    raw = event.get(key)
    if raw is None:
        return default
    return values.text(key, raw, max_length=256)


def _level(event: Mapping[str, Any]) -> str:
    """Read the event level; the issue platform knows only five."""
    level = _word(event, "level", "info")
    if level not in EVENT_LEVELS:
        raise ValidationError(
            "level", f"must be one of {', '.join(sorted(EVENT_LEVELS))}"
        )
    return level


def _object(event: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Read an attribute that must be a JSON object (absent means empty)."""
    raw = event.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationError(key, "must be an object")
    return dict(raw)


def _user(event: Mapping[str, Any], contact_email: str | None) -> dict[str, Any]:
    """Strip what the issue platform refuses from ``user``; fill its email."""
    user = _object(event, "user")
    user.pop("name", None)
    user.pop("isStaff", None)

    user_id = user.get("id")
    if user_id is not None:
        if isinstance(user_id, bool) or not isinstance(user_id, str | int):
            raise ValidationError("user.id", "must be a string or an integer")
        user["id"] = str(user_id)

    if not user.get("email") and contact_email:
        user["email"] = contact_email
    return user


def _tags(
    event: Mapping[str, Any], user: Mapping[str, Any], contexts: Mapping[str, Any]
) -> dict[str, Any]:
    """Coerce tags to an object and add the user-email and trace tags."""
    tags = _tag_object(event.get("tags"))

    email = user.get("email")
    if isinstance(email, str) and email:
        tags["user.email"] = email

    trace = contexts.get("trace")
    if isinstance(trace, Mapping) and trace.get("trace_id"):
        tags["trace.id"] = trace["trace_id"]
    return tags


def _tag_object(raw: object) -> dict[str, Any]:
    """Accept tags as an object or as a list of ``[key, value]`` pairs."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)

    pairs = raw if isinstance(raw, list | tuple) else None
    if pairs is None or not all(_is_tag_pair(pair) for pair in pairs):
        raise ValidationError(
            "tags", "must be an object or a list of [key, value] pairs"
        )
    return dict(pairs)


def _is_tag_pair(pair: object) -> bool:
    return (
        isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)
    )


def _add_replay_context(contexts: dict[str, Any]) -> None:
    """Add a ``replay`` context when only the feedback names the replay."""
    feedback = contexts.get("feedback")
    replay_id = feedback.get("replay_id") if isinstance(feedback, dict) else None
    if replay_id and "replay" not in contexts:
        contexts["replay"] = {"replay_id": replay_id}


def _uuid_or_none(raw: object) -> uuid.UUID | None:
    """Parse a UUID in any of its text forms; ``None`` when it is not one."""
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
