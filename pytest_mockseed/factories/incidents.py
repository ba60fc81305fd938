# Meta and Params are factory_boy's option holders, not API to document.
"""Factories for incidents, their project links, activity log and subscribers.

``IncidentFactory()`` builds the whole chain the reference needs: an
organization, an alert rule watching a new project, and an open incident of
that rule linked to the rule's projects. It writes no activities; the
domain's ``create_incident`` does that.
"""

from __future__ import annotations

from typing import Any

from factory.declarations import (
    LazyAttribute,
    LazyAttributeSequence,
    LazyFunction,
    SelfAttribute,
    SubFactory,
    Trait,
)
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from pytest_mockseed.factories.alerts import AlertRuleFactory
from pytest_mockseed.factories.base import (
    MockseedFactory,
    ago,
    anchor,
    between,
    link_each,
    random_uuid,
)
from pytest_mockseed.factories.organizations import (
    OrganizationFactory,
    ProjectFactory,
    UserFactory,
)
from pytest_mockseed.models import (
    Incident,
    IncidentActivity,
    IncidentActivityType,
    IncidentProject,
    IncidentStatus,
    IncidentStatusMethod,
    IncidentSubscription,
    IncidentType,
    Project,
)


def _next_identifier(incident: Any, n: int) -> int:
    """Count identifiers from 1 per organization, as the reference does.

    A persisted organization is asked for its highest identifier (pending
    incidents are flushed first); a built one falls back to the sequence.
    """
    organization = incident.organization
    session = object_session(organization)
    if session is None or organization.id is None:
        return n + 1
    highest = session.scalar(
        select(func.max(Incident.identifier)).where(
            Incident.organization_id == organization.id
        )
    )
    return (highest or 0) + 1


def _rule_projects(incident: Any, create: bool) -> list[Project]:
    """An incident concerns the projects its rule watches."""
    return list(incident.alert_rule.projects)


class IncidentFactory(MockseedFactory[Incident]):
    """An open incident opened by its rule's trigger, on the rule's projects."""

    class Meta:
        model = Incident

    class Params:
        closed = Trait(
            status=IncidentStatus.CLOSED,
            status_method=IncidentStatusMethod.MANUAL,
            date_closed=LazyAttribute(lambda o: between(o.date_started, anchor())),
        )

    organization = SubFactory(OrganizationFactory)
    alert_rule = SubFactory(
        AlertRuleFactory, organization=SelfAttribute("..organization")
    )
    identifier = LazyAttributeSequence(_next_identifier)
    detection_uuid = LazyFunction(random_uuid)
    status = IncidentStatus.OPEN
    status_method = IncidentStatusMethod.RULE_TRIGGERED
    type = IncidentType.ALERT_TRIGGERED
    title = SelfAttribute("alert_rule.name")
    date_started = ago(7)
    date_detected = SelfAttribute("date_started")
    date_added = SelfAttribute("date_started")
    date_closed = None
    projects = link_each("projects", _rule_projects)


class IncidentProjectFactory(MockseedFactory[IncidentProject]):
    """A link between a project-less new incident and a project of its org."""

    class Meta:
        model = IncidentProject

    incident = SubFactory(IncidentFactory, projects=[])
    project = SubFactory(
        ProjectFactory,
        organization=SelfAttribute("..incident.organization"),
    )


class IncidentActivityFactory(MockseedFactory[IncidentActivity]):
    """The CREATED entry of a new incident's log, written by no user."""

    class Meta:
        model = IncidentActivity

    incident = SubFactory(IncidentFactory)
    user = None
    type = IncidentActivityType.CREATED
    value = None
    previous_value = None
    comment = None
    date_added = SelfAttribute("incident.date_added")
    notification_uuid = LazyFunction(random_uuid)


class IncidentSubscriptionFactory(MockseedFactory[IncidentSubscription]):
    """A new user following a new incident."""

    class Meta:
        model = IncidentSubscription

    incident = SubFactory(IncidentFactory)
    user = SubFactory(UserFactory)
    date_added = LazyAttribute(lambda o: between(o.incident.date_added, anchor()))
