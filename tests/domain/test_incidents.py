"""Incidents (rules 23-29) in PostgreSQL, including concurrent creation."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from pytest_mockseed import determinism
from pytest_mockseed import factories as f
from pytest_mockseed.domain import (
    ValidationError,
    create_incident,
    create_incident_activity,
    update_incident_status,
)
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleProject,
    Incident,
    IncidentActivity,
    IncidentActivityType,
    IncidentProject,
    IncidentStatus,
    IncidentStatusMethod,
    IncidentSubscription,
    IncidentType,
    Organization,
    Project,
    User,
)
from tests.domain.support import make_rule

ANCHOR = datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)
STARTED = ANCHOR - timedelta(minutes=7)
ALERT_TRIGGERED = IncidentType.ALERT_TRIGGERED


@pytest.fixture
def rule(session: Session, organization: Organization, project: Project) -> AlertRule:
    return make_rule(session, organization, project)


@pytest.fixture
def user(organization: Organization) -> User:
    return f.OrganizationMemberFactory(organization=organization).user


def open_incident(
    session: Session,
    organization: Organization,
    rule: AlertRule,
    project: Project,
    **extra: object,
) -> Incident:
    return create_incident(
        session,
        organization,
        ALERT_TRIGGERED,
        "My Incident",
        STARTED,
        alert_rule=rule,
        projects=[project],
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def incident(
    session: Session, organization: Organization, rule: AlertRule, project: Project
) -> Incident:
    return open_incident(session, organization, rule, project)


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- create_incident ---------------------------------------------------------------


def test_the_mock_incident(
    session: Session,
    organization: Organization,
    rule: AlertRule,
    project: Project,
    user: User,
) -> None:
    with determinism.frozen(ANCHOR, seed=1):
        incident = open_incident(session, organization, rule, project, user=user)

    session.expire_all()
    stored = session.get_one(Incident, incident.id)
    assert (stored.identifier, stored.title, stored.type) == (
        1,
        "My Incident",
        ALERT_TRIGGERED,
    )
    assert (stored.status, stored.status_method) == (
        IncidentStatus.OPEN,
        IncidentStatusMethod.RULE_TRIGGERED,
    )
    assert stored.date_started == stored.date_detected == STARTED
    assert stored.date_added == ANCHOR
    assert stored.date_closed is None
    assert (stored.organization_id, stored.alert_rule_id) == (organization.id, rule.id)
    assert list(stored.projects) == [project]
    assert [(a.type, a.date_added, a.user_id) for a in stored.activities] == [
        (IncidentActivityType.DETECTED, STARTED, user.id),
        (IncidentActivityType.CREATED, ANCHOR, user.id),
    ]
    assert all(a.notification_uuid is not None for a in stored.activities)
    assert stored.subscriptions == []


def test_identifiers_count_from_one_per_organization(
    session: Session, organization: Organization, rule: AlertRule, project: Project
) -> None:
    first = open_incident(session, organization, rule, project)
    second = open_incident(session, organization, rule, project)
    other_org = f.OrganizationFactory()
    other_project = f.ProjectFactory(organization=other_org)
    elsewhere = open_incident(
        session, other_org, make_rule(session, other_org, other_project), other_project
    )

    assert (first.identifier, second.identifier, elsewhere.identifier) == (1, 2, 1)


def test_detection_details_are_kept(
    session: Session, organization: Organization, rule: AlertRule, project: Project
) -> None:
    detected = STARTED + timedelta(minutes=1)
    detection = uuid.UUID("9b3b8c3e-5a0b-4f2e-8d5c-1c2b3a4d5e6f")

    incident = open_incident(
        session,
        organization,
        rule,
        project,
        date_detected=detected,
        detection_uuid=detection,
    )

    assert (incident.date_detected, incident.detection_uuid) == (detected, detection)


def test_each_project_is_linked_once(
    session: Session, organization: Organization, rule: AlertRule, project: Project
) -> None:
    second = f.ProjectFactory(organization=organization)

    incident = create_incident(
        session,
        organization,
        ALERT_TRIGGERED,
        "t",
        STARTED,
        alert_rule=rule,
        projects=[project, second, project],
    )

    links = session.scalars(
        select(IncidentProject.project_id).where(
            IncidentProject.incident_id == incident.id
        )
    )
    assert sorted(links) == sorted([project.id, second.id])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"title": None}, "title"),
        ({"type_": 99}, "type_"),
        ({"date_started": datetime(2024, 1, 1)}, "date_started"),
        ({"date_started": "2024-01-01T00:00:00Z"}, "date_started"),
        ({"date_detected": datetime(2024, 1, 1)}, "date_detected"),
        ({"alert_rule": None}, "alert_rule"),
        ({"detection_uuid": "9b3b8c3e"}, "detection_uuid"),
        ({"user": "someone"}, "user"),
        ({"projects": "Earth"}, "projects"),
    ],
)
def test_bad_incident_input_is_refused(
    session: Session,
    organization: Organization,
    rule: AlertRule,
    project: Project,
    changes: dict[str, object],
    field: str,
) -> None:
    arguments: dict[str, object] = {
        "type_": ALERT_TRIGGERED,
        "title": "My Incident",
        "date_started": STARTED,
        "alert_rule": rule,
        "projects": [project],
    }
    arguments.update(changes)

    with pytest.raises(ValidationError) as raised:
        create_incident(session, organization, **arguments)  # type: ignore[arg-type]

    assert raised.value.field == field
    assert count(session, Incident) == 0
    assert count(session, IncidentActivity) == 0


def test_a_rule_or_project_of_another_organization_is_refused(
    session: Session, organization: Organization, rule: AlertRule, project: Project
) -> None:
    other = f.OrganizationFactory()
    stranger = f.ProjectFactory(organization=other)

    with pytest.raises(ValidationError, match="alert_rule: must belong"):
        open_incident(session, other, rule, stranger)
    with pytest.raises(ValidationError, match="projects: must be projects"):
        open_incident(session, organization, rule, stranger)


# --- activities and subscriptions (rule 28) ------------------------------------------


def subscribers(session: Session, incident: Incident) -> list[int]:
    statement = select(IncidentSubscription.user_id).where(
        IncidentSubscription.incident_id == incident.id
    )
    return sorted(session.scalars(statement))


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (IncidentStatus.CLOSED, "2"),
        (20, "20"),
        (3.5, "3.5"),
        ("text", "text"),
        (None, None),
    ],
)
def test_activity_values_are_stored_as_text(
    session: Session, incident: Incident, value: object, stored: str | None
) -> None:
    activity = create_incident_activity(
        session,
        incident,
        IncidentActivityType.STATUS_CHANGE,
        value=value,
        previous_value=value,
    )

    session.expire_all()
    again = session.get_one(IncidentActivity, activity.id)
    assert (again.value, again.previous_value) == (stored, stored)


def test_an_explicit_date_is_honoured(session: Session, incident: Incident) -> None:
    when = ANCHOR - timedelta(days=3)

    activity = create_incident_activity(
        session, incident, IncidentActivityType.STATUS_CHANGE, date_added=when
    )

    assert activity.date_added == when


def test_mentioned_users_are_subscribed_once(
    session: Session, incident: Incident, user: User
) -> None:
    second = f.UserFactory()
    mentioned = [user.id, second.id, user.id]

    create_incident_activity(
        session, incident, IncidentActivityType.COMMENT, mentioned_user_ids=mentioned
    )
    create_incident_activity(
        session, incident, IncidentActivityType.COMMENT, mentioned_user_ids=[user.id]
    )

    assert subscribers(session, incident) == sorted([user.id, second.id])
    assert sorted(s.user_id for s in incident.subscriptions) == sorted(
        [user.id, second.id]
    )


def test_the_author_of_a_comment_is_subscribed(
    session: Session, incident: Incident, user: User
) -> None:
    activity = create_incident_activity(
        session, incident, IncidentActivityType.COMMENT, user=user, comment="looking"
    )

    assert activity.comment == "looking"
    assert subscribers(session, incident) == [user.id]


def test_other_activities_do_not_subscribe_their_author(
    session: Session, incident: Incident, user: User
) -> None:
    create_incident_activity(
        session, incident, IncidentActivityType.STATUS_CHANGE, user=user
    )

    assert subscribers(session, incident) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mentioned_user_ids": [2**31 - 1]}, "mentioned_user_ids"),
        ({"mentioned_user_ids": ["1"]}, "mentioned_user_ids"),
        ({"mentioned_user_ids": "12"}, "mentioned_user_ids"),
        ({"mentioned_user_ids": 12}, "mentioned_user_ids"),
        ({"comment": "nul\x00"}, "comment"),
        ({"value": b"bytes"}, "value"),
        ({"value": float("nan")}, "value"),
        ({"date_added": datetime(2024, 1, 1)}, "date_added"),
        ({"user": 5}, "user"),
    ],
)
def test_bad_activity_input_writes_nothing(
    session: Session, incident: Incident, changes: dict[str, object], field: str
) -> None:
    before = count(session, IncidentActivity)

    with pytest.raises(ValidationError) as raised:
        create_incident_activity(
            session,
            incident,
            IncidentActivityType.COMMENT,
            **changes,  # type: ignore[arg-type]
        )

    assert raised.value.field == field
    assert count(session, IncidentActivity) == before
    assert count(session, IncidentSubscription) == 0


# --- status changes (rule 29) ----------------------------------------------------------


def status_changes(incident: Incident) -> list[tuple[str | None, str | None]]:
    return [
        (a.value, a.previous_value)
        for a in incident.activities
        if a.type == IncidentActivityType.STATUS_CHANGE
    ]


def test_an_unchanged_status_is_a_no_op(session: Session, incident: Incident) -> None:
    update_incident_status(session, incident, IncidentStatus.OPEN)

    assert status_changes(incident) == []
    assert len(incident.activities) == 2


def test_closing_logs_the_change_and_sets_the_close_date(
    session: Session, incident: Incident, user: User
) -> None:
    with determinism.frozen(ANCHOR, seed=1):
        update_incident_status(
            session,
            incident,
            IncidentStatus.CLOSED,
            status_method=IncidentStatusMethod.MANUAL,
            user=user,
            comment="fixed",
        )

    session.expire_all()
    stored = session.get_one(Incident, incident.id)
    assert (stored.status, stored.status_method) == (
        IncidentStatus.CLOSED,
        IncidentStatusMethod.MANUAL,
    )
    assert stored.date_closed == ANCHOR
    (change,) = [
        a for a in stored.activities if a.type == IncidentActivityType.STATUS_CHANGE
    ]
    assert (change.value, change.previous_value) == ("2", "1")
    assert (change.user_id, change.comment) == (user.id, "fixed")


def test_a_given_close_date_is_used(session: Session, incident: Incident) -> None:
    closed = STARTED + timedelta(hours=1)

    update_incident_status(session, incident, IncidentStatus.CLOSED, date_closed=closed)

    assert incident.date_closed == closed


def test_reopening_clears_the_close_date(session: Session, incident: Incident) -> None:
    update_incident_status(session, incident, IncidentStatus.CLOSED)

    update_incident_status(session, incident, IncidentStatus.OPEN)

    assert incident.date_closed is None
    assert status_changes(incident) == [("2", "1"), ("1", "2")]


def test_warning_and_critical_are_open_states(
    session: Session, incident: Incident
) -> None:
    update_incident_status(session, incident, IncidentStatus.WARNING)
    update_incident_status(session, incident, IncidentStatus.CRITICAL)

    assert incident.date_closed is None
    assert status_changes(incident) == [("10", "1"), ("20", "10")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": 3}, "status"),
        ({"status": "closed"}, "status"),
        ({"status_method": 9}, "status_method"),
        ({"date_closed": datetime(2024, 1, 1)}, "date_closed"),
    ],
)
def test_bad_status_input_is_refused(
    session: Session, incident: Incident, changes: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {"status": IncidentStatus.CLOSED, **changes}

    with pytest.raises(ValidationError) as raised:
        update_incident_status(session, incident, **arguments)  # type: ignore[arg-type]

    assert raised.value.field == field
    assert incident.status == IncidentStatus.OPEN
    assert status_changes(incident) == []


# --- concurrency (rule 23, issue 7) --------------------------------------------------


@dataclass(frozen=True)
class Committed:
    """Ids of an organization, project and rule committed for other connections."""

    organization_id: int
    project_id: int
    rule_id: int


@pytest.fixture
def committed(engine: Engine) -> Iterator[Committed]:
    """A committed organization with a rule; everything it grew is removed after."""
    tag = uuid.uuid4().hex[:12]
    with Session(engine) as session:
        organization = Organization(slug=f"race-{tag}", date_added=ANCHOR)
        project = Project(
            organization=organization,
            name="race",
            slug=f"race-{tag}",
            date_added=ANCHOR,
        )
        session.add_all([organization, project])
        rule = make_rule(session, organization, project)
        session.commit()
        ids = Committed(organization.id, project.id, rule.id)

    yield ids

    with Session(engine) as session:
        incident_ids = select(Incident.id).where(
            Incident.organization_id == ids.organization_id
        )
        for model in (IncidentActivity, IncidentProject, IncidentSubscription):
            session.execute(delete(model).where(model.incident_id.in_(incident_ids)))
        session.execute(
            delete(Incident).where(Incident.organization_id == ids.organization_id)
        )
        session.execute(
            delete(AlertRuleProject).where(
                AlertRuleProject.alert_rule_id == ids.rule_id
            )
        )
        session.execute(delete(AlertRule).where(AlertRule.id == ids.rule_id))
        session.execute(delete(Project).where(Project.id == ids.project_id))
        session.execute(
            delete(Organization).where(Organization.id == ids.organization_id)
        )
        session.commit()


def open_committed(engine: Engine, ids: Committed) -> int:
    """Open an incident in its own transaction and commit; return its identifier."""
    with Session(engine) as session:
        organization = session.get_one(Organization, ids.organization_id)
        incident = create_incident(
            session,
            organization,
            ALERT_TRIGGERED,
            "race",
            STARTED,
            alert_rule=session.get_one(AlertRule, ids.rule_id),
            projects=[session.get_one(Project, ids.project_id)],
        )
        session.commit()
        return incident.identifier


def test_eight_concurrent_creators_get_identifiers_one_to_eight(
    engine: Engine, committed: Committed
) -> None:
    start = threading.Barrier(8)
    identifiers: list[int] = []
    errors: list[BaseException] = []

    def create() -> None:
        start.wait()
        try:
            identifiers.append(open_committed(engine, committed))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(identifiers) == list(range(1, 9))


def test_a_number_taken_outside_the_lock_is_skipped(
    engine: Engine, committed: Committed
) -> None:
    result: list[int] = []
    with engine.connect() as outsider:
        outsider.execute(
            insert(Incident).values(
                organization_id=committed.organization_id,
                alert_rule_id=committed.rule_id,
                identifier=1,
                type=ALERT_TRIGGERED,
                title="written without the lock",
                date_started=STARTED,
                date_detected=STARTED,
                date_added=STARTED,
            )
        )
        creator = threading.Thread(
            target=lambda: result.append(open_committed(engine, committed))
        )
        creator.start()
        time.sleep(0.5)  # the creator now waits on our uncommitted identifier 1
        outsider.commit()
        creator.join(timeout=30)

    assert result == [2]
    with Session(engine) as session:
        incident = session.scalars(
            select(Incident)
            .where(Incident.organization_id == committed.organization_id)
            .where(Incident.identifier == 2)
        ).one()
        assert len(incident.activities) == 2, "the retry kept the incident's rows"
        assert list(incident.projects) == [session.get(Project, committed.project_id)]
