"""Application code under test: a digest of an organization's open incidents.

This is the kind of code a pytest-mockseed user writes; its tests in
``test_incident_digest.py`` run it against the seeded world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pytest_mockseed.models import (
    AlertRule,
    Incident,
    IncidentActivity,
    IncidentProject,
    IncidentStatus,
    Project,
)


@dataclass(frozen=True)
class DigestLine:
    """One open incident, as the digest e-mail shows it."""

    identifier: int
    title: str
    rule: str
    projects: tuple[str, ...]
    activities: int
    open_for_minutes: int


def incident_digest(
    session: Session, organization_id: int, now: datetime
) -> list[DigestLine]:
    """Every incident of the organization that is not closed, oldest first."""
    incidents = session.scalars(
        select(Incident)
        .where(Incident.organization_id == organization_id)
        .where(Incident.status != IncidentStatus.CLOSED)
        .order_by(Incident.date_started, Incident.identifier)
    )
    return [_line(session, incident, now) for incident in incidents]


def _line(session: Session, incident: Incident, now: datetime) -> DigestLine:
    rule = (
        session.get_one(AlertRule, incident.alert_rule_id)
        if incident.alert_rule_id
        else None
    )
    slugs = session.scalars(
        select(Project.slug)
        .join(IncidentProject, IncidentProject.project_id == Project.id)
        .where(IncidentProject.incident_id == incident.id)
        .order_by(Project.slug)
    )
    activities = session.scalar(
        select(func.count()).where(IncidentActivity.incident_id == incident.id)
    )
    return DigestLine(
        identifier=incident.identifier,
        title=incident.title,
        rule=rule.name if rule else "(no rule)",
        projects=tuple(slugs),
        activities=activities or 0,
        open_for_minutes=int((now - incident.date_started).total_seconds() // 60),
    )


def render(lines: list[DigestLine]) -> str:
    """The digest as plain text, one incident a line."""
    if not lines:
        return "No open incidents."
    return "\n".join(
        f"#{line.identifier} {line.title} [{', '.join(line.projects)}] "
        f"rule {line.rule!r}, {line.activities} activities, open {line.open_for_minutes} min"
        for line in lines
    )
