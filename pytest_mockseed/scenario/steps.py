"""The scenario's steps, each a get-or-create as in the reference loader.

Each step takes the session and what earlier steps made, and writes through
the models or the domain rules; none commits. Times come from
:func:`pytest_mockseed.determinism.now`, so a seeded run is repeatable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from pytest_mockseed import determinism
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleThresholdType,
    Base,
    Broadcast,
    CheckInStatus,
    Environment,
    IncidentType,
    Monitor,
    MonitorCheckIn,
    MonitorEnvironment,
    MonitorStatus,
    ObjectStatus,
    Organization,
    OrganizationAccessRequest,
    OrganizationMember,
    Project,
    ProjectFlags,
    Team,
    User,
)

_Model = TypeVar("_Model", bound=Base)

SUPERUSER_EMAIL = "admin@example.com"
DUMMY_EMAIL = "dummy@example.com"
ORGANIZATION_SLUG = "default"
#: The fixed tree of teams and their projects, in the reference's order.
MOCK_TREE: Mapping[str, tuple[str, ...]] = {
    "Massive Dynamic": ("Ludic Science",),
    "Captain Planet": ("Earth", "Fire", "Wind", "Water", "Heart"),
}
MONITOR_NAMES = (
    "send-beacon",
    "check-auth",
    "flush-buffers",
    "sync-options",
    "clear-expired-sessions",
    "deliver-digests",
)
MONITOR_SCHEDULES = ("* * * * *", "0 * * * *", "0 0 * * *")
BROADCAST = {
    "title": "Learn about Source Maps",
    "message": "Source maps are JSON files that translate minified or transpiled "
    "code back to the lines you wrote, so stack traces point at your source.",
    "link": "https://docs.sentry.io/platforms/javascript/#source-maps",
}


def get_or_create(
    session: Session,
    model: type[_Model],
    lookup: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> _Model:
    """Return the row matching ``lookup``, creating it with ``defaults`` if absent."""
    found = session.scalars(select(model).filter_by(**lookup)).first()
    if found is not None:
        return found

    row = model(**lookup, **(defaults or {}))
    session.add(row)
    session.flush()
    return row


def slugify(name: str) -> str:
    """Turn a display name into the slug the reference derives from it."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def password_hash(password: str, salt: str) -> str:
    """A PBKDF2 hash in the common ``algorithm$iterations$salt$hash`` form."""
    iterations = 1000  # a throwaway test world; cheap on purpose
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${digest.hex()}"


def get_superuser(session: Session) -> User:
    """Return the first superuser, creating one when there is none."""
    found = session.scalars(
        select(User).where(User.is_superuser).order_by(User.id)
    ).first()
    if found is not None:
        return found

    return get_or_create(
        session,
        User,
        {"username": SUPERUSER_EMAIL},
        {
            "email": SUPERUSER_EMAIL,
            "name": "Admin",
            "is_staff": True,
            "is_superuser": True,
            "password": password_hash("admin", determinism.new_uuid_hex()[:12]),
            "date_joined": determinism.now(),
        },
    )


def create_user(session: Session) -> User:
    """Return the dummy user, created when missing, with password "dummy"."""
    user = get_or_create(
        session,
        User,
        {"username": DUMMY_EMAIL},
        {
            "email": DUMMY_EMAIL,
            "name": "",
            "password": "",
            "date_joined": determinism.now(),
        },
    )
    user.password = password_hash("dummy", determinism.new_uuid_hex()[:12])
    return user


def create_broadcast(session: Session) -> Broadcast:
    """Always add one broadcast that expires a week after now."""
    now = determinism.now()
    broadcast = Broadcast(
        **BROADCAST, date_added=now, date_expires=now + timedelta(days=7)
    )
    session.add(broadcast)
    return broadcast


def get_organization(session: Session) -> Organization:
    """Return the organization with slug "default", created with an empty name."""
    return get_or_create(
        session,
        Organization,
        {"slug": ORGANIZATION_SLUG},
        {
            "name": "",
            "date_added": determinism.now(),
        },
    )


def create_member(
    session: Session, organization: Organization, user: User, role: str
) -> OrganizationMember:
    """Return the user's membership; ``role`` applies only when it is new."""
    return get_or_create(
        session,
        OrganizationMember,
        {"organization_id": organization.id, "user_id": user.id},
        {"role": role, "date_added": determinism.now()},
    )


def generate_projects(
    session: Session, organization: Organization
) -> tuple[list[Team], dict[str, Project]]:
    """Create the mock teams and their projects, each project linked to its team."""
    teams: list[Team] = []
    projects: dict[str, Project] = {}
    for team_name, project_names in MOCK_TREE.items():
        team = get_or_create(
            session,
            Team,
            {"name": team_name},
            {
                "organization_id": organization.id,
                "slug": slugify(team_name),
                "date_added": determinism.now(),
            },
        )
        teams.append(team)
        for name in project_names:
            projects[name] = _project(session, organization, team, name)
    return teams, projects


def _project(
    session: Session, organization: Organization, team: Team, name: str
) -> Project:
    now = determinism.now()
    project = get_or_create(
        session,
        Project,
        {"name": name},
        {
            "organization_id": organization.id,
            "slug": slugify(name),
            "flags": ProjectFlags.HAS_RELEASES,
            "first_event": now,
            "date_added": now,
        },
    )
    if team not in project.teams:
        project.teams.append(team)
    session.flush()
    return project


def create_environment(session: Session, project: Project, name: str) -> Environment:
    """Get or create the organization's environment ``name`` and link the project."""
    environment = get_or_create(
        session,
        Environment,
        {"organization_id": project.organization_id, "name": name},
        {"date_added": determinism.now()},
    )
    if environment not in project.environments:
        project.environments.append(environment)
    return environment


def create_monitor(
    session: Session, project: Project, environment: Environment, index: int
) -> MonitorCheckIn:
    """A disabled cron monitor, its environment, and one failed check-in."""
    now = determinism.now()
    name = MONITOR_NAMES[index % len(MONITOR_NAMES)]
    monitor = get_or_create(
        session,
        Monitor,
        {
            "name": name,
            "project_id": project.id,
            "organization_id": project.organization_id,
        },
        {
            "guid": determinism.new_uuid(),
            "slug": slugify(name),
            "status": ObjectStatus.DISABLED,
            "config": {"schedule": MONITOR_SCHEDULES[index % len(MONITOR_SCHEDULES)]},
            "date_added": now,
        },
    )
    monitor_environment = get_or_create(
        session,
        MonitorEnvironment,
        {"monitor_id": monitor.id, "environment_id": environment.id},
        {
            "status": MonitorStatus.DISABLED,
            "next_checkin": now + timedelta(minutes=60),
            "last_checkin": now,
            "date_added": now,
        },
    )
    ok = monitor_environment.status == MonitorStatus.OK
    checkin = MonitorCheckIn(
        guid=determinism.new_uuid(),
        project_id=project.id,
        monitor_id=monitor.id,
        monitor_environment_id=monitor_environment.id,
        status=CheckInStatus.OK if ok else CheckInStatus.ERROR,
        date_added=now,
        date_updated=now,
    )
    session.add(checkin)
    return checkin


def create_access_request(
    session: Session, member: OrganizationMember, team: Team
) -> OrganizationAccessRequest:
    """The member's request to join ``team``; one per (team, member)."""
    return get_or_create(
        session, OrganizationAccessRequest, {"team_id": team.id, "member_id": member.id}
    )


def create_metric_alert_rule(
    session: Session, organization: Organization, project: Project
) -> AlertRule:
    """Create "My Alert Rule" with its "critical" trigger at 10 and "My Incident"."""
    from pytest_mockseed.domain import (
        create_alert_rule,
        create_alert_rule_trigger,
        create_incident,
    )

    alert_rule = create_alert_rule(
        session,
        organization,
        [project],
        "My Alert Rule",
        "level:error",
        "count()",
        10,
        AlertRuleThresholdType.ABOVE,
        1,
    )
    create_alert_rule_trigger(session, alert_rule, "critical", 10)
    create_incident(
        session,
        organization,
        type_=IncidentType.ALERT_TRIGGERED,
        title="My Incident",
        date_started=determinism.now(),
        alert_rule=alert_rule,
        projects=[project],
    )
    return alert_rule
