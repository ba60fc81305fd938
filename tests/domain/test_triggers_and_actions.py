"""Triggers (rules 16-20) and trigger actions (rule 21), in PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.domain import (
    ValidationError,
    create_alert_rule_trigger,
    update_alert_rule_trigger_actions,
)
from pytest_mockseed.models import (
    ActionService,
    ActionTarget,
    AlertRule,
    AlertRuleThresholdType,
    AlertRuleTrigger,
    AlertRuleTriggerAction,
    ObjectStatus,
    Organization,
    Project,
    User,
)
from tests.domain.support import make_rule

ABOVE = AlertRuleThresholdType.ABOVE
BELOW = AlertRuleThresholdType.BELOW


@pytest.fixture
def rule(session: Session, organization: Organization, project: Project) -> AlertRule:
    return make_rule(session, organization, project)


@pytest.fixture
def trigger(session: Session, rule: AlertRule) -> AlertRuleTrigger:
    return create_alert_rule_trigger(session, rule, "critical", 10)


def trigger_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AlertRuleTrigger)) or 0


# --- triggers ----------------------------------------------------------------------


def test_the_mock_trigger(session: Session, rule: AlertRule) -> None:
    trigger = create_alert_rule_trigger(session, rule, "critical", 10)

    session.expire_all()
    stored = session.get_one(AlertRuleTrigger, trigger.id)
    assert (stored.alert_rule_id, stored.label, stored.alert_threshold) == (
        rule.id,
        "critical",
        10.0,
    )
    assert stored.actions == []


def test_a_label_is_unique_per_rule(session: Session, rule: AlertRule) -> None:
    create_alert_rule_trigger(session, rule, "critical", 10)

    with pytest.raises(ValidationError) as raised:
        create_alert_rule_trigger(session, rule, "critical", 20)

    assert str(raised.value) == "label: label already in use"
    assert trigger_count(session) == 1


def test_a_label_taken_behind_our_back_is_still_refused(
    session: Session, rule: AlertRule
) -> None:
    assert rule.triggers == []  # loaded now, so it will not see the next row
    session.execute(
        insert(AlertRuleTrigger).values(
            alert_rule_id=rule.id,
            label="critical",
            alert_threshold=10,
            date_added=func.now(),
        )
    )

    with pytest.raises(ValidationError, match="label already in use"):
        create_alert_rule_trigger(session, rule, "critical", 20)

    assert trigger_count(session) == 1, (
        "the savepoint kept the outer transaction usable"
    )


def test_the_same_label_on_two_rules_is_fine(
    session: Session, organization: Organization, project: Project, rule: AlertRule
) -> None:
    other = make_rule(session, organization, project)

    create_alert_rule_trigger(session, rule, "critical", 10)
    create_alert_rule_trigger(session, other, "critical", 10)

    assert trigger_count(session) == 2


@pytest.mark.parametrize(
    ("label", "threshold", "field"),
    [
        ("", 10, "label"),
        ("x" * 257, 10, "label"),
        (None, 10, "label"),
        ("nul\x00", 10, "label"),
        ("critical", float("nan"), "alert_threshold"),
        ("critical", float("inf"), "alert_threshold"),
        ("critical", "10", "alert_threshold"),
        ("critical", True, "alert_threshold"),
        ("critical", None, "alert_threshold"),
    ],
)
def test_bad_trigger_input_is_refused(
    session: Session, rule: AlertRule, label: object, threshold: object, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        create_alert_rule_trigger(session, rule, label, threshold)  # type: ignore[arg-type]

    assert raised.value.field == field
    assert trigger_count(session) == 0


def test_dynamic_rules_need_a_zero_threshold(
    session: Session, organization: Organization, project: Project
) -> None:
    rule = make_rule(
        session,
        organization,
        project,
        detection_type="dynamic",
        sensitivity="low",
        time_window=30,
        threshold_type=AlertRuleThresholdType.ABOVE_AND_BELOW,
    )

    with pytest.raises(ValidationError, match="threshold of 0"):
        create_alert_rule_trigger(session, rule, "critical", 5)
    assert create_alert_rule_trigger(session, rule, "critical", 0).alert_threshold == 0


@pytest.mark.parametrize(
    ("threshold_type", "resolve", "alert", "ok"),
    [
        (ABOVE, 5, 6, True),
        (ABOVE, 5, 5, True),  # whole numbers: above 5 never overlaps below 5
        (ABOVE, 1, 0, True),  # the documented "alert > 0, resolve < 1" case
        (ABOVE, 2, 0, False),  # overlaps at 1
        (ABOVE, 5, 3, False),
        (ABOVE, 0.5, 0.5, False),  # not whole: strictly above
        (ABOVE, 0.5, 0.75, True),
        (BELOW, 5, 4, True),
        (BELOW, 5, 6, True),
        (BELOW, 1, 3, False),
        (BELOW, 0.5, 0.5, False),
        (BELOW, 0.5, 0.25, True),
    ],
)
def test_triggers_fire_beyond_the_resolve_threshold(
    session: Session,
    organization: Organization,
    project: Project,
    threshold_type: AlertRuleThresholdType,
    resolve: float,
    alert: float,
    ok: bool,
) -> None:
    rule = make_rule(
        session,
        organization,
        project,
        threshold_type=threshold_type,
        resolve_threshold=resolve,
    )

    if ok:
        assert create_alert_rule_trigger(session, rule, "critical", alert).id
    else:
        with pytest.raises(ValidationError, match="resolve threshold"):
            create_alert_rule_trigger(session, rule, "critical", alert)


@pytest.mark.parametrize(
    ("threshold_type", "critical", "warning", "ok"),
    [
        (ABOVE, 20, 10, True),
        (ABOVE, 10, 10, True),
        (ABOVE, 10, 20, False),
        (BELOW, 10, 20, True),
        (BELOW, 20, 10, False),
    ],
)
@pytest.mark.parametrize("critical_first", [True, False])
def test_critical_and_warning_are_ordered_by_direction(
    session: Session,
    organization: Organization,
    project: Project,
    threshold_type: AlertRuleThresholdType,
    critical: float,
    warning: float,
    ok: bool,
    critical_first: bool,
) -> None:
    rule = make_rule(session, organization, project, threshold_type=threshold_type)
    steps = [("critical", critical), ("warning", warning)]
    if not critical_first:
        steps.reverse()
    create_alert_rule_trigger(session, rule, *steps[0])

    if ok:
        assert create_alert_rule_trigger(session, rule, *steps[1]).id
    else:
        with pytest.raises(ValidationError, match="critical must be"):
            create_alert_rule_trigger(session, rule, *steps[1])


# --- actions -------------------------------------------------------------------------


@pytest.fixture
def member(organization: Organization) -> User:
    return f.OrganizationMemberFactory(organization=organization).user


def email_user(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "type": ActionService.EMAIL,
        "target_type": ActionTarget.USER,
        "target_identifier": str(user.id),
        **extra,
    }


def slack(**extra: Any) -> dict[str, Any]:
    return {
        "type": ActionService.SLACK,
        "target_type": ActionTarget.SPECIFIC,
        "target_identifier": "#alerts",
        "integration_id": 7,
        **extra,
    }


def live_actions(
    session: Session, trigger: AlertRuleTrigger
) -> list[AlertRuleTriggerAction]:
    statement = (
        select(AlertRuleTriggerAction)
        .where(AlertRuleTriggerAction.alert_rule_trigger_id == trigger.id)
        .where(AlertRuleTriggerAction.status == ObjectStatus.ACTIVE)
        .order_by(AlertRuleTriggerAction.id)
    )
    return list(session.scalars(statement))


def test_an_email_to_a_member(
    session: Session, trigger: AlertRuleTrigger, member: User
) -> None:
    (action,) = update_alert_rule_trigger_actions(
        session, trigger, [email_user(member)]
    )

    assert (action.type, action.target_type) == (ActionService.EMAIL, ActionTarget.USER)
    assert (action.target_identifier, action.target_display) == (
        str(member.id),
        member.email,
    )
    assert action.status == ObjectStatus.ACTIVE
    assert live_actions(session, trigger) == [action]


def test_an_email_to_a_team_of_the_organization(
    session: Session, trigger: AlertRuleTrigger, organization: Organization
) -> None:
    team = f.TeamFactory(organization=organization)
    spec = {"type": 0, "target_type": 2, "target_identifier": team.id}

    (action,) = update_alert_rule_trigger_actions(session, trigger, [spec])

    assert (action.target_identifier, action.target_display) == (
        str(team.id),
        team.slug,
    )


def test_integrations_and_apps(session: Session, trigger: AlertRuleTrigger) -> None:
    specs = [
        slack(),
        {
            "type": ActionService.PAGERDUTY,
            "target_type": ActionTarget.SPECIFIC,
            "target_identifier": "service-1",
            "priority": "critical",
        },
        {
            "type": ActionService.SENTRY_APP,
            "target_type": ActionTarget.SENTRY_APP,
            "target_identifier": "app-1",
            "sentry_app_id": 3,
            "sentry_app_config": {"channel": "ops"},
            "sentry_app_installation_uuid": "9b3b8c3e-5a0b-4f2e-8d5c-1c2b3a4d5e6f",
        },
    ]

    slack_action, pagerduty, app = update_alert_rule_trigger_actions(
        session, trigger, specs
    )

    assert slack_action.integration_id == 7
    assert pagerduty.sentry_app_config == {"priority": "critical"}
    assert (app.sentry_app_id, app.sentry_app_config) == (3, {"channel": "ops"})
    assert len(live_actions(session, trigger)) == 3


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (
            {"type": 0, "target_type": 1},
            "actions[0]",
            "must be given together",
        ),
        (
            {"type": 5, "target_type": 0, "target_identifier": "x"},
            "actions[0].type",
            "SENTRY_NOTIFICATION",
        ),
        (
            {"type": 1, "target_type": 1, "target_identifier": "1"},
            "actions[0].target_type",
            "PAGERDUTY cannot notify a USER",
        ),
        (
            {"type": 0, "target_type": 0, "target_identifier": "x"},
            "actions[0].target_type",
            "EMAIL cannot notify a SPECIFIC",
        ),
        ({**slack(), "integration_id": None}, "actions[0].integration_id", "Slack"),
        (
            {"type": 4, "target_type": 3, "target_identifier": "app"},
            "actions[0].sentry_app_id",
            "need one",
        ),
        (
            {
                "type": 4,
                "target_type": 3,
                "target_identifier": "app",
                "sentry_app_id": 1,
                "sentry_app_config": {"a": 1},
            },
            "actions[0].sentry_app_installation_uuid",
            "must be a string",
        ),
        ({**slack(), "priority": "P1"}, "actions[0].priority", "only PagerDuty"),
        (
            {
                "type": 6,
                "target_type": 0,
                "target_identifier": "team",
                "priority": "urgent",
            },
            "actions[0].priority",
            "P1, P2",
        ),
        (
            {"type": 1, "target_type": 0, "target_identifier": "s", "priority": ["P1"]},
            "actions[0].priority",
            "must be one of",
        ),
        ({**slack(), "colour": "red"}, "actions[0]", "unknown keys: colour"),
        ({**slack(), "id": 999_999}, "actions[0].id", "not a live action"),
        ({**slack(), "type": 42}, "actions[0].type", "must be one of"),
        (
            {**slack(), "target_identifier": ""},
            "actions[0].target_identifier",
            "at least",
        ),
        (
            {**slack(), "sentry_app_config": [1]},
            "actions[0].sentry_app_config",
            "object",
        ),
        (
            {**slack(), "sentry_app_config": {"a": "\x00"}},
            "actions[0].sentry_app_config",
            "NUL",
        ),
        ("slack", "actions[0]", "must be an object"),
    ],
)
def test_invalid_actions_are_refused(
    session: Session, trigger: AlertRuleTrigger, spec: object, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        update_alert_rule_trigger_actions(session, trigger, [spec])  # type: ignore[list-item]

    assert raised.value.field == field
    assert message in raised.value.message
    assert live_actions(session, trigger) == []


def test_email_to_someone_outside_the_organization_is_refused(
    session: Session, trigger: AlertRuleTrigger
) -> None:
    outsider = f.UserFactory()

    with pytest.raises(ValidationError, match="not a member of the organization"):
        update_alert_rule_trigger_actions(session, trigger, [email_user(outsider)])


def test_email_to_an_unknown_user_is_refused(
    session: Session, trigger: AlertRuleTrigger
) -> None:
    spec = {"type": 0, "target_type": 1, "target_identifier": "2147483647"}

    with pytest.raises(ValidationError, match="not a member"):
        update_alert_rule_trigger_actions(session, trigger, [spec])


@pytest.mark.parametrize("identifier", ["abc", "-1", "99999999999", "١٢"])
def test_email_targets_are_numeric_ids(
    session: Session, trigger: AlertRuleTrigger, identifier: str
) -> None:
    spec = {"type": 0, "target_type": 1, "target_identifier": identifier}

    with pytest.raises(ValidationError) as raised:
        update_alert_rule_trigger_actions(session, trigger, [spec])

    assert raised.value.field == "actions[0].target_identifier"


def test_email_to_a_team_of_another_organization_is_refused(
    session: Session, trigger: AlertRuleTrigger
) -> None:
    stranger = f.TeamFactory()
    spec = {"type": 0, "target_type": 2, "target_identifier": str(stranger.id)}

    with pytest.raises(ValidationError, match="not a team of the organization"):
        update_alert_rule_trigger_actions(session, trigger, [spec])


def test_update_keeps_listed_actions_hides_the_rest_and_adds_new_ones(
    session: Session, trigger: AlertRuleTrigger, member: User
) -> None:
    kept, dropped = update_alert_rule_trigger_actions(
        session, trigger, [slack(), email_user(member)]
    )

    changed, added = update_alert_rule_trigger_actions(
        session, trigger, [slack(id=kept.id, target_identifier="#ops"), slack()]
    )

    assert changed is kept
    assert changed.target_identifier == "#ops"
    assert added.id not in (kept.id, dropped.id)
    assert dropped.status == ObjectStatus.PENDING_DELETION
    assert live_actions(session, trigger) == [kept, added]
    assert session.get(AlertRuleTriggerAction, dropped.id) is dropped, (
        "hidden, not deleted"
    )


def test_an_empty_list_hides_every_action(
    session: Session, trigger: AlertRuleTrigger
) -> None:
    update_alert_rule_trigger_actions(session, trigger, [slack(), slack()])

    assert update_alert_rule_trigger_actions(session, trigger, []) == []
    assert live_actions(session, trigger) == []


def test_a_refused_update_changes_nothing(
    session: Session, trigger: AlertRuleTrigger
) -> None:
    (first,) = update_alert_rule_trigger_actions(session, trigger, [slack()])

    with pytest.raises(ValidationError):
        update_alert_rule_trigger_actions(
            session,
            trigger,
            [slack(id=first.id, target_identifier="#new"), {"type": 5}],
        )

    assert first.target_identifier == "#alerts"
    assert live_actions(session, trigger) == [first]


def test_a_hidden_action_cannot_be_updated(
    session: Session, trigger: AlertRuleTrigger
) -> None:
    (first,) = update_alert_rule_trigger_actions(session, trigger, [slack()])
    update_alert_rule_trigger_actions(session, trigger, [])

    with pytest.raises(ValidationError, match="not a live action"):
        update_alert_rule_trigger_actions(session, trigger, [slack(id=first.id)])


def test_actions_must_be_a_list(session: Session, trigger: AlertRuleTrigger) -> None:
    with pytest.raises(ValidationError, match="actions: must be a list"):
        update_alert_rule_trigger_actions(session, trigger, slack())  # type: ignore[arg-type]
