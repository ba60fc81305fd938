"""An incident's log and its followers: activities, subscriptions, status.

Every change to an incident is an activity row with its values stored as
text (rule 28); mentioned users and a comment's author follow the incident
through subscriptions; a status change is itself an activity (rule 29).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pytest_mockseed.determinism import new_uuid, now
from pytest_mockseed.domain import values
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.models import (
    Incident,
    IncidentActivity,
    IncidentActivityType,
    IncidentStatus,
    IncidentStatusMethod,
    IncidentSubscription,
    User,
)


def optional_time(field: str, raw: object) -> datetime | None:
    """An optional aware datetime; ``None`` stays ``None``."""
    return None if raw is None else values.aware_datetime(field, raw)


def new_activity(
    activity_type: IncidentActivityType,
    user: User | None,
    *,
    date_added: datetime,
    value: str | None = None,
    previous_value: str | None = None,
    comment: str | None = None,
) -> IncidentActivity:
    """A new activity row, with the notification id modern code gives it."""
    return IncidentActivity(
        type=activity_type,
        user=user,
        value=value,
        previous_value=previous_value,
        comment=comment,
        date_added=date_added,
        notification_uuid=new_uuid(),
    )


def create_incident_activity(
    session: Session,
    incident: Incident,
    activity_type: IncidentActivityType,
    *,
    user: User | None = None,
    value: object = None,
    previous_value: object = None,
    comment: str | None = None,
    mentioned_user_ids: Iterable[int] | None = None,
    date_added: datetime | None = None,
) -> IncidentActivity:
    """Log an activity; subscribe mentioned users and a comment's author.

    Values are stored as text (rule 28). Users already subscribed are left
    alone, also when another transaction subscribes them at the same time.
    """
    if not isinstance(incident, Incident):
        raise ValidationError("incident", "must be an Incident")
    checked_type = values.member("activity_type", IncidentActivityType, activity_type)
    if user is not None and not isinstance(user, User):
        raise ValidationError("user", "must be a User")
    subscribers = _subscribers(session, checked_type, user, mentioned_user_ids)

    activity = new_activity(
        checked_type,
        user,
        date_added=optional_time("date_added", date_added) or now(),
        value=_stringify("value", value),
        previous_value=_stringify("previous_value", previous_value),
        comment=values.optional_text("comment", comment),
    )
    with session.begin_nested():
        incident.activities.append(activity)
        session.flush()
        _subscribe(session, incident, subscribers)
    return activity


def _stringify(field: str, raw: object) -> str | None:
    """Store integers (enum values included) and text as text."""
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(int(raw))
    if isinstance(raw, float):
        return str(values.number(field, raw))
    return values.text(field, raw)


def _subscribers(
    session: Session,
    activity_type: IncidentActivityType,
    user: User | None,
    mentioned_user_ids: Iterable[int] | None,
) -> list[int]:
    """Mentioned users, plus the author of a comment; all must exist."""
    if mentioned_user_ids is not None and (
        isinstance(mentioned_user_ids, str | bytes)
        or not isinstance(mentioned_user_ids, Iterable)
    ):
        raise ValidationError("mentioned_user_ids", "must be a list of user ids")
    wanted = [
        values.row_id("mentioned_user_ids", item) for item in (mentioned_user_ids or ())
    ]
    if activity_type == IncidentActivityType.COMMENT and user is not None:
        session.flush()
        wanted.append(user.id)

    unique = sorted(set(wanted))
    known = set(session.scalars(select(User.id).where(User.id.in_(unique))))
    missing = [user_id for user_id in unique if user_id not in known]
    if missing:
        raise ValidationError("mentioned_user_ids", f"no such users: {missing}")
    return unique


def _subscribe(session: Session, incident: Incident, user_ids: Sequence[int]) -> None:
    """Subscribe users in one statement; existing subscriptions stay."""
    if not user_ids:
        return

    rows = [
        {"incident_id": incident.id, "user_id": user_id, "date_added": now()}
        for user_id in user_ids
    ]
    session.execute(insert(IncidentSubscription).values(rows).on_conflict_do_nothing())
    session.expire(incident, ["subscriptions"])


def update_incident_status(
    session: Session,
    incident: Incident,
    status: IncidentStatus,
    *,
    status_method: IncidentStatusMethod = IncidentStatusMethod.RULE_TRIGGERED,
    user: User | None = None,
    comment: str | None = None,
    date_closed: datetime | None = None,
) -> Incident:
    """Move an incident to ``status`` and log the change (rule 29).

    Nothing happens when the status is unchanged. Closing sets
    ``date_closed`` (given or now); any other status clears it.
    """
    if not isinstance(incident, Incident):
        raise ValidationError("incident", "must be an Incident")
    new_status = values.member("status", IncidentStatus, status)
    method = values.member("status_method", IncidentStatusMethod, status_method)
    closed_at = optional_time("date_closed", date_closed)
    if incident.status == new_status:
        return incident

    create_incident_activity(
        session,
        incident,
        IncidentActivityType.STATUS_CHANGE,
        user=user,
        value=new_status,
        previous_value=incident.status,
        comment=comment,
    )
    incident.status = new_status
    incident.status_method = method
    closing = new_status == IncidentStatus.CLOSED
    incident.date_closed = (closed_at or now()) if closing else None
    session.flush()
    return incident
