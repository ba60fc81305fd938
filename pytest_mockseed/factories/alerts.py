# Meta and Params are factory_boy's option holders, not API to document.
"""Factories for metric alert rules, their project links, triggers and actions.

``AlertRuleFactory()`` gives a rule like the scenario's: errors counted over
a short window, above a threshold, watching one new project of its
organization. Pass ``projects=[...]`` to watch given projects instead.
"""

from __future__ import annotations

from typing import Any

from factory.declarations import LazyAttribute, SelfAttribute, SubFactory

from pytest_mockseed.factories.base import (
    MockseedFactory,
    anchor,
    between,
    link_each,
    pick,
)
from pytest_mockseed.factories.organizations import (
    OrganizationFactory,
    OrganizationMemberFactory,
    ProjectFactory,
)
from pytest_mockseed.models import (
    ActionService,
    ActionTarget,
    AlertRule,
    AlertRuleDetectionType,
    AlertRuleMonitorType,
    AlertRuleProject,
    AlertRuleStatus,
    AlertRuleThresholdType,
    AlertRuleTrigger,
    AlertRuleTriggerAction,
    Dataset,
    ObjectStatus,
    Project,
    SnubaQueryType,
)

RULE_NAMES = (
    "My Alert Rule",
    "High error rate",
    "Spike in fatal errors",
    "Errors after deploy",
    "Checkout failures",
)
QUERIES = ("level:error", "", "level:fatal", "environment:production")
TIME_WINDOWS = (60, 300, 600, 900, 1800, 3600)
# Window floor (minutes) -> resolution (minutes) of a static rule, largest
# floor first, as in DOMAIN.md rule 8; windows under 30 minutes resolve at 1.
RESOLUTIONS = {1440: 15, 240: 5, 60: 3, 30: 2}
TRIGGER_LABELS = ("critical", "warning")


def _static_resolution(rule: Any) -> int:
    """Return the resolution in seconds the reference gives a static rule."""
    minutes = rule.time_window // 60
    steps = (step for floor, step in RESOLUTIONS.items() if minutes >= floor)
    return next(steps, 1) * 60


def _one_new_project(rule: Any, create: bool) -> list[Project]:
    """A rule watches one project: a new one in the rule's organization."""
    make = ProjectFactory.create if create else ProjectFactory.build
    return [make(organization=rule.organization)]


class AlertRuleFactory(MockseedFactory[AlertRule]):
    """A static error-count rule above a threshold, linked to one new project."""

    class Meta:
        model = AlertRule

    organization = SubFactory(OrganizationFactory)
    name = pick(RULE_NAMES)
    status = AlertRuleStatus.PENDING
    query = pick(QUERIES)
    aggregate = "count()"
    dataset = Dataset.EVENTS
    query_type = SnubaQueryType.ERROR
    time_window = pick(TIME_WINDOWS)
    resolution = LazyAttribute(_static_resolution)
    environment = None
    threshold_type = AlertRuleThresholdType.ABOVE
    threshold_period = 1
    resolve_threshold = None
    comparison_delta = None
    detection_type = AlertRuleDetectionType.STATIC
    sensitivity = None
    seasonality = None
    monitor_type = AlertRuleMonitorType.CONTINUOUS
    description = None
    user = None
    team = None
    date_added = LazyAttribute(lambda o: between(o.organization.date_added, anchor()))
    date_modified = SelfAttribute("date_added")
    projects = link_each("projects", _one_new_project)


class AlertRuleProjectFactory(MockseedFactory[AlertRuleProject]):
    """A link between a project-less new rule and a project of its organization."""

    class Meta:
        model = AlertRuleProject

    alert_rule = SubFactory(AlertRuleFactory, projects=[])
    project = SubFactory(
        ProjectFactory,
        organization=SelfAttribute("..alert_rule.organization"),
    )


def _free_label(trigger: Any) -> str:
    """Return "critical", then "warning", then numbered labels for a rule.

    Labels are unique per rule, so the label depends on the rule's triggers.
    """
    taken = {existing.label for existing in trigger.alert_rule.triggers}
    free = [label for label in TRIGGER_LABELS if label not in taken]
    return free[0] if free else f"trigger-{len(taken) + 1}"


class AlertRuleTriggerFactory(MockseedFactory[AlertRuleTrigger]):
    """The rule's "critical" trigger (then "warning") at a round threshold."""

    class Meta:
        model = AlertRuleTrigger

    alert_rule = SubFactory(AlertRuleFactory)
    label = LazyAttribute(_free_label)
    alert_threshold = pick((10.0, 50.0, 100.0, 500.0))
    date_added = SelfAttribute("alert_rule.date_added")


def _user_id(action: Any) -> str | None:
    """Email actions name their user by id; a built member has no id yet."""
    user_id = action.target_member.user.id
    return None if user_id is None else str(user_id)


class AlertRuleTriggerActionFactory(MockseedFactory[AlertRuleTriggerAction]):
    """An email to a member of the rule's organization when the trigger fires."""

    class Meta:
        model = AlertRuleTriggerAction

    class Params:
        target_member = SubFactory(
            OrganizationMemberFactory,
            organization=SelfAttribute("..alert_rule_trigger.alert_rule.organization"),
        )

    alert_rule_trigger = SubFactory(AlertRuleTriggerFactory)
    type = ActionService.EMAIL
    target_type = ActionTarget.USER
    target_identifier = LazyAttribute(_user_id)
    target_display = SelfAttribute("target_member.user.name")
    integration_id = None
    sentry_app_id = None
    sentry_app_config = None
    status = ObjectStatus.ACTIVE
    date_added = LazyAttribute(
        lambda o: between(o.alert_rule_trigger.date_added, anchor())
    )
