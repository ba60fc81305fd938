"""Metric alert rules and their triggers, created by the reference's rules.

Each function checks all of its input first (see :mod:`.alert_checks`) and
only then writes, inside a savepoint, so a refusal never leaves a partial
rule behind and never spoils the caller's transaction. Nothing commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import exc
from sqlalchemy.orm import Session

from pytest_mockseed.determinism import now
from pytest_mockseed.domain import alert_checks, values
from pytest_mockseed.domain.alert_actions import update_alert_rule_trigger_actions
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleDetectionType,
    AlertRuleSensitivity,
    AlertRuleThresholdType,
    AlertRuleTrigger,
    Dataset,
    Environment,
    Organization,
    Project,
    SnubaQueryType,
    User,
)

__all__ = [
    "create_alert_rule",
    "create_alert_rule_trigger",
    "update_alert_rule_trigger_actions",
]

_New = TypeVar("_New", AlertRule, AlertRuleTrigger)

_LABEL_CONSTRAINT = "uq_alert_rule_triggers_alert_rule_id_label"

#: Labels of the two triggers a rule may have, whose thresholds are ordered.
CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class _Window:
    """The rule's timing, all in minutes as the caller gives them."""

    time_window: int
    resolution: int
    comparison_delta: int | None


def create_alert_rule(
    session: Session,
    organization: Organization,
    projects: Sequence[Project],
    name: str,
    query: str,
    aggregate: str,
    time_window: int,
    threshold_type: AlertRuleThresholdType,
    threshold_period: int,
    *,
    resolve_threshold: float | None = None,
    environment: Environment | None = None,
    query_type: SnubaQueryType = SnubaQueryType.ERROR,
    dataset: Dataset | str = Dataset.EVENTS,
    user: User | None = None,
    event_types: Sequence[str] | None = None,
    comparison_delta: int | None = None,
    detection_type: AlertRuleDetectionType | str = AlertRuleDetectionType.STATIC,
    sensitivity: AlertRuleSensitivity | str | None = None,
    seasonality: str | None = None,
    description: str | None = None,
) -> AlertRule:
    """Create a metric alert rule watching at most one project.

    ``time_window`` and ``comparison_delta`` are minutes; the rule stores
    them, and the resolution of rule 8, in seconds. A ``comparison_delta``
    on a static rule makes it a percent rule (rule 11); dynamic rules get
    seasonality "auto" (rule 9). ``event_types`` are checked (rule 15) but
    not stored: the rule's table has no column for them.
    """
    _check_owner(organization, projects, environment, user)
    query_type = values.member("query_type", SnubaQueryType, query_type)
    checked_dataset = values.member("dataset", Dataset, dataset)
    alert_checks.check_dataset(query_type, checked_dataset)
    alert_checks.check_event_types(query_type, event_types)

    kind = _detection_type(detection_type, comparison_delta)
    threshold_type = values.member(
        "threshold_type", AlertRuleThresholdType, threshold_type
    )
    window = _window(query_type, kind, time_window, comparison_delta)
    checked_sensitivity = _sensitivity(sensitivity)
    alert_checks.check_detection(
        kind, threshold_type, window.time_window, checked_sensitivity, seasonality
    )

    checked_query = values.text("query", query, max_length=10_000)
    alert_checks.check_query(checked_query, kind)
    rule = AlertRule(
        organization=organization,
        name=_name(name),
        query=checked_query,
        aggregate=alert_checks.normalize_aggregate(
            query_type, values.text("aggregate", aggregate, max_length=256)
        ),
        dataset=checked_dataset,
        query_type=query_type,
        time_window=window.time_window * 60,
        resolution=window.resolution * 60,
        environment=environment,
        threshold_type=threshold_type,
        threshold_period=values.integer(
            "threshold_period", threshold_period, low=1, high=20
        ),
        resolve_threshold=_optional_number("resolve_threshold", resolve_threshold),
        comparison_delta=_seconds(window.comparison_delta),
        detection_type=kind,
        sensitivity=checked_sensitivity,
        seasonality="auto" if kind == AlertRuleDetectionType.DYNAMIC else None,
        description=values.optional_text("description", description, max_length=1000),
        user=user,
        date_added=now(),
        date_modified=now(),
    )
    rule.projects.extend(projects)
    return _write(session, lambda: rule)


def _check_owner(
    organization: object,
    projects: object,
    environment: object,
    user: object,
) -> None:
    """The rule's organization, projects and environment must belong together."""
    if not isinstance(organization, Organization):
        raise ValidationError("organization", "must be an Organization")
    if isinstance(projects, str | bytes) or not isinstance(projects, Sequence):
        raise ValidationError("projects", "must be a list of projects")
    if len(projects) > 1:
        raise ValidationError("projects", "an alert rule watches at most one project")

    for project in projects:
        if not isinstance(project, Project) or not values.same_organization(
            project, organization
        ):
            raise ValidationError("projects", "must be projects of the organization")
    if environment is not None and (
        not isinstance(environment, Environment)
        or not values.same_organization(environment, organization)
    ):
        raise ValidationError(
            "environment", "must be an environment of the organization"
        )
    if user is not None and not isinstance(user, User):
        raise ValidationError("user", "must be a User")


def _detection_type(raw: object, comparison_delta: object) -> AlertRuleDetectionType:
    """Read the detection type; a comparison turns static into percent."""
    kind = values.member("detection_type", AlertRuleDetectionType, raw)
    if kind == AlertRuleDetectionType.STATIC and comparison_delta is not None:
        return AlertRuleDetectionType.PERCENT
    if kind == AlertRuleDetectionType.PERCENT and comparison_delta is None:
        raise ValidationError("comparison_delta", "percent alert rules need one")
    if kind == AlertRuleDetectionType.DYNAMIC and comparison_delta is not None:
        raise ValidationError("comparison_delta", "only percent alert rules have one")
    return kind


def _window(
    query_type: SnubaQueryType,
    kind: AlertRuleDetectionType,
    time_window: object,
    comparison_delta: object,
) -> _Window:
    """Check the time window and comparison; derive the resolution."""
    minutes = values.integer("time_window", time_window, low=1, high=1440)
    alert_checks.check_crash_rate_window(query_type, minutes)
    delta = None
    if comparison_delta is not None:
        delta = values.integer(
            "comparison_delta",
            comparison_delta,
            low=1,
            high=alert_checks.MAX_COMPARISON_DELTA,
        )
    resolution = alert_checks.resolution_minutes(minutes, kind)
    return _Window(minutes, resolution, delta)


def _sensitivity(raw: object) -> AlertRuleSensitivity | None:
    if raw is None:
        return None
    return values.member("sensitivity", AlertRuleSensitivity, raw)


def _name(raw: object) -> str:
    """Names are 1 to 256 characters and not only blanks (rule 15)."""
    name = values.text("name", raw, min_length=1, max_length=256)
    if not name.strip():
        raise ValidationError("name", "must not be blank")
    return name


def _optional_number(field: str, raw: object) -> float | None:
    return None if raw is None else values.number(field, raw)


def _seconds(minutes: int | None) -> int | None:
    return None if minutes is None else minutes * 60


def create_alert_rule_trigger(
    session: Session,
    alert_rule: AlertRule,
    label: str,
    alert_threshold: float,
) -> AlertRuleTrigger:
    """Add a trigger (a labelled threshold) to a rule (rules 17, 19, 20).

    Labels are unique per rule; a "critical" trigger must not fire after
    the "warning" one in the rule's direction, and every trigger must fire
    beyond the rule's resolve threshold.
    """
    if not isinstance(alert_rule, AlertRule):
        raise ValidationError("alert_rule", "must be an AlertRule")
    checked_label = values.text("label", label, min_length=1, max_length=256)
    threshold = values.number("alert_threshold", alert_threshold)

    _check_threshold(alert_rule, checked_label, threshold)
    if any(trigger.label == checked_label for trigger in alert_rule.triggers):
        raise ValidationError("label", "label already in use")

    return _write(
        session,
        lambda: AlertRuleTrigger(
            alert_rule=alert_rule,
            label=checked_label,
            alert_threshold=threshold,
            date_added=now(),
        ),
    )


def _check_threshold(rule: AlertRule, label: str, threshold: float) -> None:
    """Check a new trigger's threshold against its rule and its sibling."""
    if rule.detection_type == AlertRuleDetectionType.DYNAMIC:
        if threshold != 0:
            raise ValidationError(
                "alert_threshold", "dynamic alert rules need an alert threshold of 0"
            )
        return

    alert_checks.check_resolve_threshold(
        rule.threshold_type, threshold, rule.resolve_threshold
    )
    others = {trigger.label: trigger.alert_threshold for trigger in rule.triggers}
    if label == CRITICAL and WARNING in others:
        alert_checks.check_trigger_order(
            rule.threshold_type, threshold, others[WARNING]
        )
    if label == WARNING and CRITICAL in others:
        alert_checks.check_trigger_order(
            rule.threshold_type, others[CRITICAL], threshold
        )


def _write(session: Session, build: Callable[[], _New]) -> _New:
    """Build and flush one new object inside a savepoint.

    The object is built inside the savepoint because opening one flushes
    the session, and a trigger already linked to its rule but not yet
    added would make that flush warn. A concurrent writer can still take a
    trigger's label between the check and the flush; the unique constraint
    then refuses it, and that becomes the same "label already in use".
    """
    try:
        with session.begin_nested():
            instance = build()
            session.add(instance)
            session.flush()
    except exc.IntegrityError as error:
        if _LABEL_CONSTRAINT in str(error.orig):
            raise ValidationError("label", "label already in use") from None
        raise
    return instance
