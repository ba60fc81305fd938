"""Opening incidents (rules 23-27); their log lives in :mod:`.incident_log`.

An incident's ``identifier`` is the number users see ("#3"), counted from 1
within each organization. Several connections may open incidents in one
organization at once, so the next number is taken under a transaction-
scoped advisory lock on the organization: a second creator waits until the
first one's transaction ends and then sees its incident.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import exc, func, select
from sqlalchemy.orm import Session

from pytest_mockseed.determinism import now
from pytest_mockseed.domain import values
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.domain.incident_log import (
    create_incident_activity,
    new_activity,
    optional_time,
    update_incident_status,
)
from pytest_mockseed.models import (
    AlertRule,
    Incident,
    IncidentActivityType,
    IncidentStatus,
    IncidentStatusMethod,
    IncidentType,
    Organization,
    Project,
    User,
)

__all__ = ["create_incident", "create_incident_activity", "update_incident_status"]

#: First key of the two-part advisory lock, so that our locks cannot clash
#: with other users of advisory locks on the same database ("MS" in ASCII).
IDENTIFIER_LOCK_NAMESPACE = 0x4D53

#: How often to try another identifier when a writer outside the lock won.
_ATTEMPTS = 5
_IDENTIFIER_CONSTRAINT = "uq_incidents_organization_id_identifier"

logger = logging.getLogger(__name__)


def create_incident(
    session: Session,
    organization: Organization,
    type_: IncidentType,
    title: str,
    date_started: datetime,
    *,
    date_detected: datetime | None = None,
    detection_uuid: uuid.UUID | None = None,
    projects: Sequence[Project] | None = None,
    user: User | None = None,
    alert_rule: AlertRule | None = None,
) -> Incident:
    """Open an incident with its projects and its first two activities.

    The incident starts OPEN, RULE_TRIGGERED (rule 24); it logs DETECTED at
    ``date_started`` and CREATED now (rule 26). ``alert_rule`` is required
    here although the reference allows none: our ``incidents`` table keeps
    the rule as a non-null foreign key.
    """
    _check_incident_links(organization, alert_rule, user, detection_uuid)
    incident_projects = _projects(organization, projects)
    started = values.aware_datetime("date_started", date_started)

    # Foreign keys rather than relationships: a new, session-less object on
    # the loaded collections of persistent parents makes SQLAlchemy warn.
    # The flush gives a new organization or rule its id first.
    session.flush()
    incident = Incident(
        organization_id=organization.id,
        alert_rule_id=alert_rule.id if alert_rule is not None else None,
        detection_uuid=detection_uuid,
        status=IncidentStatus.OPEN,
        status_method=IncidentStatusMethod.RULE_TRIGGERED,
        type=values.member("type_", IncidentType, type_),
        title=values.text("title", title, min_length=1),
        date_started=started,
        date_detected=optional_time("date_detected", date_detected) or started,
        date_added=now(),
    )

    incident.projects.extend(incident_projects)
    incident.activities.extend(
        [
            new_activity(IncidentActivityType.DETECTED, user, date_added=started),
            new_activity(IncidentActivityType.CREATED, user, date_added=now()),
        ]
    )
    _insert_numbered(session, incident, organization)
    return incident


def _insert_numbered(
    session: Session, incident: Incident, organization: Organization
) -> None:
    """Insert the incident under the next free identifier of its organization.

    The advisory lock makes callers of this function take turns. Rows
    written without it (a factory, raw SQL) can still take a number first;
    the unique constraint then refuses ours, and we try the next number.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        incident.identifier = _next_identifier(session, organization)
        try:
            with session.begin_nested():
                session.add(incident)
                session.flush()
            return
        except exc.IntegrityError as error:
            if _IDENTIFIER_CONSTRAINT not in str(error.orig) or attempt == _ATTEMPTS:
                raise
            logger.debug(
                "incidents: identifier %d taken, retrying", incident.identifier
            )


def _check_incident_links(
    organization: object, alert_rule: object, user: object, detection_uuid: object
) -> None:
    """The incident's rule and organization must match; types must be right."""
    if not isinstance(organization, Organization):
        raise ValidationError("organization", "must be an Organization")
    if not isinstance(alert_rule, AlertRule):
        raise ValidationError("alert_rule", "an incident needs the rule that opened it")
    if not values.same_organization(alert_rule, organization):
        raise ValidationError("alert_rule", "must belong to the organization")
    if user is not None and not isinstance(user, User):
        raise ValidationError("user", "must be a User")
    if detection_uuid is not None and not isinstance(detection_uuid, uuid.UUID):
        raise ValidationError("detection_uuid", "must be a UUID")


def _projects(organization: Organization, projects: object) -> list[Project]:
    """Each distinct project once (rule 25); all of the organization."""
    if projects is None:
        return []
    if isinstance(projects, str | bytes) or not isinstance(projects, Iterable):
        raise ValidationError("projects", "must be a list of projects")

    unique: dict[int, Project] = {}
    for project in projects:
        if not isinstance(project, Project) or not values.same_organization(
            project, organization
        ):
            raise ValidationError("projects", "must be projects of the organization")
        unique.setdefault(id(project), project)
    return list(unique.values())


def _next_identifier(session: Session, organization: Organization) -> int:
    """Take the organization's next identifier (rule 23), safely under load.

    The advisory lock is held until the caller's transaction ends, which
    serialises incident creation per organization and nothing else.
    """
    session.flush()
    session.execute(
        select(func.pg_advisory_xact_lock(IDENTIFIER_LOCK_NAMESPACE, organization.id))
    )
    highest = session.scalar(
        select(func.max(Incident.identifier)).where(
            Incident.organization_id == organization.id
        )
    )
    return (highest or 0) + 1
