"""The Kafka messages of one accepted feedback (DOMAIN.md section 4).

An accepted feedback becomes an issue occurrence on ``ingest-occurrences``,
a status change on the same topic when it is spam, and an ACCEPTED outcome
on ``outcomes``. This module builds and encodes them; it produces nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
        "timestamp": detected.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "org_id": organization_id,
        "project_id": occurrence["project_id"],
        "key_id": None,
        "outcome": ACCEPTED_OUTCOME,
        "reason": None,
        "event_id": occurrence["event_id"],
        "category": USER_REPORT_V2_CATEGORY,
        "quantity": 1,
    }


def occurrence_key(occurrence: Mapping[str, Any]) -> bytes:
    """Return the partition key ``<fingerprint[0]>-<project_id>``."""
    return f"{occurrence['fingerprint'][0]}-{occurrence['project_id']}".encode()


def feedback_messages(
    occurrence: dict[str, Any], organization_id: int, *, is_spam: bool
) -> FeedbackMessages:
    """Encode every message of one accepted feedback, in producing order."""
    key = occurrence_key(occurrence)
    messages = [OutgoingMessage(OCCURRENCES_TOPIC, encode(occurrence), key)]
    if is_spam:
        status_change = build_status_change(occurrence)
        messages.append(OutgoingMessage(OCCURRENCES_TOPIC, encode(status_change), key))

    outcome = build_outcome(occurrence, organization_id)
    messages.append(OutgoingMessage(OUTCOMES_TOPIC, encode(outcome)))
    return FeedbackMessages(occurrence, tuple(messages), is_spam)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Encode a message as UTF-8 JSON, refusing what JSON cannot carry.

    This is where arbitrary caller data inside the event (contexts, user,
    request, tags) is checked: NaN, bytes, circular or absurdly deep values
    and lone surrogates all become a :class:`ValidationError`.
    """
    try:
        return _ENCODER.encode(payload).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "event", "contains text that is not valid Unicode"
        ) from None
    except (TypeError, ValueError, RecursionError) as error:
        raise ValidationError("event", f"must be plain JSON data ({error})") from None


def _json_default(value: object) -> object:
    """Write datetimes as ISO text; refuse every other non-JSON value."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON data")


#: One encoder for every message: building one per call costs as much as
#: encoding a small outcome.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_json_default)
