"""The digest against the seeded world: six open incidents, then fewer."""

from __future__ import annotations

from incident_digest import incident_digest, render

from pytest_mockseed.domain import update_incident_status
from pytest_mockseed.models import IncidentStatus, IncidentStatusMethod


def test_lists_every_open_incident(seeded_org):
    now = seeded_org.world.anchor

    lines = incident_digest(seeded_org.session, seeded_org.organization.id, now)

    assert [line.identifier for line in lines] == [1, 2, 3, 4, 5, 6]
    assert {line.rule for line in lines} == {"My Alert Rule"}
    assert [line.projects for line in lines][:2] == [("ludic-science",), ("earth",)]
    assert all(line.activities == 2 for line in lines)


def test_a_closed_incident_leaves_the_digest(seeded_org, metric_alert_rule):
    [incident] = metric_alert_rule.incidents
    update_incident_status(
        seeded_org.session,
        incident,
        IncidentStatus.CLOSED,
        status_method=IncidentStatusMethod.MANUAL,
    )

    lines = incident_digest(
        seeded_org.session, seeded_org.organization.id, seeded_org.world.anchor
    )

    assert [line.identifier for line in lines] == [2, 3, 4, 5, 6]
    assert "#2 My Incident [earth]" in render(lines)


def test_an_organization_without_incidents(seeded_org):
    from pytest_mockseed.factories import OrganizationFactory

    empty = OrganizationFactory()

    assert render(
        incident_digest(seeded_org.session, empty.id, seeded_org.world.anchor)
    ) == ("No open incidents.")
