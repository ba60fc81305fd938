"""The Kafka messages of one accepted feedback (DOMAIN.md section 4).

An accepted feedback becomes an issue occurrence on ``ingest-occurrences``,
a status change on the same topic when it is spam, and an ACCEPTED outcome
on ``outcomes``. This module builds and encodes them; it produces nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson

from pytest_mockseed.determinism import new_uuid_hex
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.models import FeedbackCreationSource
from pytest_mockseed.producer import OutgoingMessage

OCCURRENCES_TOPIC = "ingest-occurrences"
OUTCOMES_TOPIC = "outcomes"

#: Group type id of the reference's feedback issues.
FEEDBACK_GROUP_TYPE = 6001

#: GroupStatus IGNORED and GroupSubStatus FOREVER: how spam is silenced.
IGNORED_STATUS = 2
FOREVER_SUBSTATUS = 5

#: Outcome ACCEPTED, category USER_REPORT_V2 (rule 37).
ACCEPTED_OUTCOME = 0
USER_REPORT_V2_CATEGORY = 14

#: Evidence keys in the order the reference displays them.
_EVIDENCE_KEYS = ("associated_event_id", "contact_email", "message", "name")

#: orjson options for every message. Datetimes go to ``_json_default``,
#: which writes them as the stdlib encoder did; dataclasses are refused, as
#: they were, rather than written field by field.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

#: Caller data may also use integer (and other scalar) dict keys, which the
#: stdlib encoder wrote as text; the option costs time, so only it pays.
_CALLER_OPTIONS = _OPTIONS | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True, slots=True)
class FeedbackMessages:
    """The occurrence of one feedback and every message that carries it."""

    occurrence: dict[str, Any]
    messages: tuple[OutgoingMessage, ...]
    is_spam: bool


def build_occurrence(
    event: dict[str, Any],
    feedback: Mapping[str, Any],
    source: FeedbackCreationSource,
    detection_time: datetime,
    *,
    is_spam: bool,
) -> dict[str, Any]:
    """Build the occurrence for a normalised feedback event."""
    evidence_data, evidence_display = _evidence(feedback, source, is_spam)
    return {
        "id": new_uuid_hex(),
        "project_id": event["project_id"],
        "event_id": event["event_id"],
        "fingerprint": [new_uuid_hex()],
        "issue_title": "User Feedback",
        "subtitle": event["logentry"]["message"],
        "resource_id": None,
        "evidence_data": evidence_data,
        "evidence_display": evidence_display,
        "type": FEEDBACK_GROUP_TYPE,
        "detection_time": detection_time.timestamp(),
        "level": event["level"],
        "culprit": "user",
        "payload_type": "occurrence",
        "event": event,
    }


def _evidence(
    feedback: Mapping[str, Any], source: FeedbackCreationSource, is_spam: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Collect the evidence; only the message is marked important."""
    data: dict[str, Any] = {
        key: feedback[key] for key in _EVIDENCE_KEYS if feedback.get(key)
    }
    data["source"] = source.value
    if is_spam:
        data["is_spam"] = True

    display = [
        {"name": key, "value": str(value), "important": key == "message"}
        for key, value in data.items()
    ]
    return data, display


def build_status_change(occurrence: Mapping[str, Any]) -> dict[str, Any]:
    """Build the message that silences a spam feedback's issue for ever."""
    return {
        "fingerprint": list(occurrence["fingerprint"]),
        "project_id": occurrence["project_id"],
        "new_status": IGNORED_STATUS,
        "new_substatus": FOREVER_SUBSTATUS,
        "id": new_uuid_hex(),
        "payload_type": "status_change",
    }


def build_outcome(
    occurrence: Mapping[str, Any], organization_id: int
) -> dict[str, Any]:
    """Build the ACCEPTED outcome tracked once the occurrence is produced."""
    detected = datetime.fromtimestamp(occurrence["detection_time"], UTC)
    return {
        "timestamp": _utc_text(detected),
        "org_id": organization_id,
        "project_id": occurrence["project_id"],
        "key_id": None,
        "outcome": ACCEPTED_OUTCOME,
        "reason": None,
        "event_id": occurrence["event_id"],
        "category": USER_REPORT_V2_CATEGORY,
        "quantity": 1,
    }


def _utc_text(moment: datetime) -> str:
    """Write a UTC time as ``2024-04-27T22:23:29.574000Z``.

    ``isoformat`` rather than ``strftime``, which cost a third more: every
    accepted feedback writes one of these.
    """
    return moment.isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def occurrence_key(occurrence: Mapping[str, Any]) -> bytes:
    """Return the partition key ``<fingerprint[0]>-<project_id>``."""
    return f"{occurrence['fingerprint'][0]}-{occurrence['project_id']}".encode()


def feedback_messages(
    occurrence: dict[str, Any], organization_id: int, *, is_spam: bool
) -> FeedbackMessages:
    """Encode every message of one accepted feedback, in producing order."""
    key = occurrence_key(occurrence)
    messages = [OutgoingMessage(OCCURRENCES_TOPIC, encode_occurrence(occurrence), key)]
    if is_spam:
        status_change = build_status_change(occurrence)
        messages.append(OutgoingMessage(OCCURRENCES_TOPIC, _dumps(status_change), key))

    outcome = build_outcome(occurrence, organization_id)
    messages.append(OutgoingMessage(OUTCOMES_TOPIC, _dumps(outcome)))
    return FeedbackMessages(occurrence, tuple(messages), is_spam)


def encode_occurrence(occurrence: Mapping[str, Any]) -> bytes:
    """Encode an occurrence, checking the caller's data in its event.

    The event is the only part that holds values as the caller gave them
    (see :func:`~.feedback_event.normalize_event`); the rest is built here
    from checked values. The event is encoded on its own and spliced in,
    so the occurrence's own ``null`` (``resource_id``) never sends a clean
    event down :func:`encode`'s slow path.
    """
    event = orjson.Fragment(encode(occurrence["event"]))
    return _dumps({**occurrence, "event": event})


def encode(payload: Mapping[str, Any]) -> bytes:
    """Encode a message as UTF-8 JSON, refusing what JSON cannot carry.

    This is where arbitrary caller data inside the event (contexts, user,
    request, tags) is checked: NaN, bytes, circular or absurdly deep values
    and lone surrogates all become a :class:`ValidationError`.

    orjson is the fast path. It writes NaN and infinities as ``null``
    instead of refusing them, so a payload whose JSON holds a ``null`` is
    searched for them; caller data rarely holds one, so the common case
    pays for one byte search. What orjson refuses goes to the stdlib
    encoder, which decides: it also carries integers past 64 bits and
    nesting past orjson's 254 levels, as the pipeline always did.
    """
    try:
        encoded = orjson.dumps(payload, default=_json_default, option=_CALLER_OPTIONS)
    except orjson.JSONEncodeError:
        return _encode_with_stdlib(payload)
    if b"null" in encoded and not _finite(payload):
        raise ValidationError("event", "must be plain JSON data (NaN or infinity)")
    return encoded


def _encode_with_stdlib(payload: Mapping[str, Any]) -> bytes:
    """Encode what orjson refused, or say why JSON cannot carry it."""
    try:
        return _STDLIB_ENCODER.encode(payload).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "event", "contains text that is not valid Unicode"
        ) from None
    except (TypeError, ValueError, RecursionError) as error:
        raise ValidationError("event", f"must be plain JSON data ({error})") from None


def _dumps(payload: object) -> bytes:
    """Encode a message built here from checked values."""
    return orjson.dumps(payload, default=_json_default, option=_OPTIONS)


def _json_default(value: object) -> object:
    """Write what the stdlib encoder wrote and orjson leaves to ``default``.

    Datetimes become ISO text; float subclasses (numpy's ``float64`` among
    them) become floats. Every other non-JSON value is refused.
    """
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _finite(value: object) -> bool:
    """Tell whether ``value`` holds no NaN or infinity, dict keys included.

    Only runs on what orjson encoded, so it is neither circular nor deeper
    than orjson's limit of 254 levels.
    """
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Enum):
        return _finite(value.value)
    if isinstance(value, dict):
        return all(_finite(key) and _finite(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(map(_finite, value))
    return True


#: The encoder of last resort, built once: building one per call costs as
#: much as encoding a small outcome.
_STDLIB_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, default=_json_default
)
