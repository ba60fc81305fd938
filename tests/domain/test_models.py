"""The schema: tables, uniqueness and check rules, enum storage, COPY of events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.models import (
    ActionService,
    ActionTarget,
    AlertRule,
    AlertRuleDetectionType,
    AlertRuleThresholdType,
    AlertRuleTriggerAction,
    Event,
    EventType,
    Incident,
    IncidentActivity,
    IncidentActivityType,
    IncidentStatus,
    Project,
    ProjectFlags,
    metadata,
)

TABLES = {
    "users",
    "organizations",
    "organization_members",
    "teams",
    "project_teams",
    "projects",
    "environments",
    "environment_projects",
    "monitors",
    "monitor_environments",
    "monitor_checkins",
    "access_requests",
    "broadcasts",
    "events",
    "alert_rules",
    "alert_rule_projects",
    "alert_rule_triggers",
    "alert_rule_trigger_actions",
    "incidents",
    "incident_projects",
    "incident_activities",
    "incident_subscriptions",
    "feedback",
}


def test_create_all_builds_every_public_table(engine: Engine) -> None:
    assert set(metadata.tables) == TABLES
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_timestamps_are_timezone_aware_without_clock_defaults() -> None:
    for table in metadata.tables.values():
        for column in table.columns:
            assert column.server_default is None, column
            if column.name.startswith("date_") or column.name == "timestamp":
                assert column.type.timezone, column  # type: ignore[attr-defined]
                assert column.default is None, column


# Each case makes two rows that break one rule; the key is the rule's name.
def _duplicate_username() -> None:
    f.UserFactory(username="dummy@example.com")
    f.UserFactory(username="dummy@example.com")


def _duplicate_org_slug() -> None:
    f.OrganizationFactory(slug="default")
    f.OrganizationFactory(slug="default")


def _second_membership() -> None:
    member = f.OrganizationMemberFactory()
    f.OrganizationMemberFactory(organization=member.organization, user=member.user)


def _second_invite_to_one_email() -> None:
    member = f.OrganizationMemberFactory(user=None, email="jane@example.com")
    f.OrganizationMemberFactory(
        organization=member.organization, user=None, email="jane@example.com"
    )


def _member_without_user_or_email() -> None:
    f.OrganizationMemberFactory(user=None, email=None)


def _duplicate_team_slug() -> None:
    team = f.TeamFactory()
    f.TeamFactory(organization=team.organization, slug=team.slug)


def _duplicate_project_slug() -> None:
    project = f.ProjectFactory()
    f.ProjectFactory(organization=project.organization, slug=project.slug)


def _duplicate_project_team() -> None:
    link = f.ProjectTeamFactory()
    f.ProjectTeamFactory(project=link.project, team=link.team)


def _duplicate_environment_name() -> None:
    environment = f.EnvironmentFactory(name="production")
    f.EnvironmentFactory(organization=environment.organization, name="production")


def _environment_name_with_slash() -> None:
    f.EnvironmentFactory(name="prod/eu")


def _duplicate_environment_project() -> None:
    link = f.EnvironmentProjectFactory()
    f.EnvironmentProjectFactory(project=link.project, environment=link.environment)


def _duplicate_monitor_guid() -> None:
    monitor = f.MonitorFactory()
    f.MonitorFactory(guid=monitor.guid)


def _duplicate_monitor_slug() -> None:
    monitor = f.MonitorFactory()
    f.MonitorFactory(organization=monitor.organization, slug=monitor.slug)


def _duplicate_monitor_environment() -> None:
    state = f.MonitorEnvironmentFactory()
    f.MonitorEnvironmentFactory(monitor=state.monitor, environment=state.environment)


def _duplicate_checkin_guid() -> None:
    checkin = f.MonitorCheckInFactory()
    f.MonitorCheckInFactory(guid=checkin.guid)


def _duplicate_access_request() -> None:
    request = f.OrganizationAccessRequestFactory()
    f.OrganizationAccessRequestFactory(team=request.team, member=request.member)


def _duplicate_event_id() -> None:
    event = f.EventFactory()
    f.EventFactory(project=event.project, event_id=event.event_id)


def _event_id_in_upper_case() -> None:
    f.EventFactory(event_id="AB" * 16)


def _duplicate_rule_project() -> None:
    link = f.AlertRuleProjectFactory()
    f.AlertRuleProjectFactory(alert_rule=link.alert_rule, project=link.project)


def _duplicate_trigger_label() -> None:
    trigger = f.AlertRuleTriggerFactory(label="critical")
    f.AlertRuleTriggerFactory(alert_rule=trigger.alert_rule, label="critical")


def _duplicate_incident_identifier() -> None:
    incident = f.IncidentFactory(identifier=1)
    f.IncidentFactory(organization=incident.organization, identifier=1)


def _duplicate_incident_project() -> None:
    link = f.IncidentProjectFactory()
    f.IncidentProjectFactory(incident=link.incident, project=link.project)


def _duplicate_subscription() -> None:
    subscription = f.IncidentSubscriptionFactory()
    f.IncidentSubscriptionFactory(
        incident=subscription.incident, user=subscription.user
    )


def _filtered_feedback_without_reason() -> None:
    f.FeedbackFactory(filtered=True, reason=None)


def _accepted_feedback_with_reason() -> None:
    f.FeedbackFactory(reason="empty")


BROKEN_RULES: dict[str, Callable[[], None]] = {
    "uq_users_username": _duplicate_username,
    "uq_organizations_slug": _duplicate_org_slug,
    "uq_organization_members_organization_id_user_id": _second_membership,
    "uq_organization_members_organization_id_email": _second_invite_to_one_email,
    "ck_organization_members_user_or_email": _member_without_user_or_email,
    "uq_teams_organization_id_slug": _duplicate_team_slug,
    "uq_projects_organization_id_slug": _duplicate_project_slug,
    "uq_project_teams_project_id_team_id": _duplicate_project_team,
    "uq_environments_organization_id_name": _duplicate_environment_name,
    "ck_environments_name_characters": _environment_name_with_slash,
    "uq_environment_projects_project_id_environment_id": (
        _duplicate_environment_project
    ),
    "uq_monitors_guid": _duplicate_monitor_guid,
    "uq_monitors_organization_id_slug": _duplicate_monitor_slug,
    "uq_monitor_environments_monitor_id_environment_id": (
        _duplicate_monitor_environment
    ),
    "uq_monitor_checkins_guid": _duplicate_checkin_guid,
    "uq_access_requests_team_id_member_id": _duplicate_access_request,
    "uq_events_project_id_event_id": _duplicate_event_id,
    "ck_events_event_id_hex": _event_id_in_upper_case,
    "uq_alert_rule_projects_alert_rule_id_project_id": _duplicate_rule_project,
    "uq_alert_rule_triggers_alert_rule_id_label": _duplicate_trigger_label,
    "uq_incidents_organization_id_identifier": _duplicate_incident_identifier,
    "uq_incident_projects_incident_id_project_id": _duplicate_incident_project,
    "uq_incident_subscriptions_incident_id_user_id": _duplicate_subscription,
    "ck_feedback_reason_iff_filtered": _filtered_feedback_without_reason,
}


@pytest.mark.parametrize(
    ("constraint", "break_rule"), BROKEN_RULES.items(), ids=list(BROKEN_RULES)
)
def test_database_rejects_a_broken_rule(
    session: Session, constraint: str, break_rule: Callable[[], None]
) -> None:
    with pytest.raises(IntegrityError) as raised:
        break_rule()

    error = raised.value.orig
    assert isinstance(error, psycopg.errors.IntegrityError)
    assert error.diag.constraint_name == constraint


def test_accepted_feedback_may_not_carry_a_reason(session: Session) -> None:
    with pytest.raises(IntegrityError, match="ck_feedback_reason_iff_filtered"):
        _accepted_feedback_with_reason()


def test_alert_rule_names_may_repeat_in_an_organization(session: Session) -> None:
    rule = f.AlertRuleFactory(name="My Alert Rule")

    f.AlertRuleFactory(organization=rule.organization, name="My Alert Rule")

    assert session.scalars(select(AlertRule.name)).all() == ["My Alert Rule"] * 2


def _reload(session: Session, instance: Any) -> Any:
    """Forget ``instance`` and load it again from the database."""
    session.flush()
    session.expunge(instance)
    return session.get(type(instance), instance.id)


@pytest.mark.parametrize(
    ("column", "value", "stored"),
    [
        (Incident.status, IncidentStatus.CRITICAL, 20),
        (Incident.status, IncidentStatus.WARNING, 10),
        (AlertRule.threshold_type, AlertRuleThresholdType.ABOVE_AND_BELOW, 2),
        (AlertRuleTriggerAction.type, ActionService.DISCORD, 7),
        (AlertRuleTriggerAction.target_type, ActionTarget.ESCALATION_POLICY, 5),
        (IncidentActivity.type, IncidentActivityType.DETECTED, 4),
        (Project.flags, ProjectFlags.HAS_RELEASES | ProjectFlags.HAS_TRANSACTIONS, 5),
    ],
    ids=lambda value: str(getattr(value, "key", value)),
)
def test_int_enums_are_stored_as_integers_and_load_as_enums(
    session: Session, column: Any, value: Any, stored: int
) -> None:
    model = column.class_
    factory = next(each for each in f.ALL_FACTORIES if each._meta.model is model)
    instance = factory(**{column.key: value})

    loaded = _reload(session, instance)
    raw = session.execute(
        text(f"SELECT {column.key} FROM {model.__tablename__} WHERE id = :id"),
        {"id": instance.id},
    ).scalar_one()

    assert raw == stored
    assert type(getattr(loaded, column.key)) is type(value)
    assert getattr(loaded, column.key) == value


def test_str_enums_load_as_enums(session: Session) -> None:
    rule = f.AlertRuleFactory(detection_type="percent", comparison_delta=3600)

    loaded = _reload(session, rule)

    assert loaded.detection_type is AlertRuleDetectionType.PERCENT


def test_a_value_outside_the_enum_never_reaches_the_database(
    session: Session,
) -> None:
    with pytest.raises(StatementError, match="99 is not a valid IncidentStatus"):
        f.IncidentFactory(status=99)


def test_project_flags_keep_unknown_bits(session: Session) -> None:
    project = f.ProjectFactory(flags=ProjectFlags.HAS_RELEASES | 1024)

    assert _reload(session, project).flags == 1025


def test_association_proxies_write_link_rows(session: Session) -> None:
    team = f.TeamFactory()
    project = f.ProjectFactory(organization=team.organization)

    project.teams.append(team)
    session.flush()
    session.expire_all()

    assert team.projects == [project]
    assert [link.team_id for link in project.team_links] == [team.id]


def test_events_accept_copy_with_plain_values(session: Session) -> None:
    project = f.ProjectFactory()
    columns = ["event_id", "project_id", "type", "platform", "level", "message"]
    columns += ["environment", "timestamp", "tags", "data"]
    row = ["ab" * 16, project.id, "transaction", "python", "info", "GET /"]
    row += ["production", "2024-05-31T12:00:00+00:00", '{"a": "b"}', "{}"]

    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.cursor().copy(f"COPY events ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write_row(row)

    event = session.scalars(select(Event).where(Event.project_id == project.id)).one()
    assert event.type is EventType.TRANSACTION
    assert event.tags == {"a": "b"}
