"""What the scenario fixtures hand a test: the seeded rows, loaded in its session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pytest_mockseed.domain import (
    OCCURRENCES_TOPIC,
    FeedbackCreationSource,
    create_feedback_issue,
)
from pytest_mockseed.models import (
    AlertRule,
    Feedback,
    Organization,
    OrganizationMember,
    Project,
    Team,
    User,
)
from pytest_mockseed.producer import ConfirmingProducer
from pytest_mockseed.scenario import FEEDBACK_PROJECT, World, mock_feedback_event
from pytest_mockseed.services.handles import KafkaHandle


@dataclass(frozen=True)
class SeededOrg:
    """The seeded organization and its people, teams and projects.

    Every row belongs to ``session``, the test's own session: change them,
    add to them, even commit; the next test still sees the seeded world.
    """

    organization: Organization
    owner: User
    user: User
    members: list[OrganizationMember]
    teams: list[Team]
    projects: list[Project]
    session: Session
    seed: int
    world: World

    def project(self, name: str) -> Project:
        """The project called ``name``, e.g. ``seeded_org.project("Wind")``."""
        return next(project for project in self.projects if project.name == name)


def load_seeded_org(session: Session, world: World) -> SeededOrg:
    """Load the world's rows into ``session``, in the scenario's order."""
    return SeededOrg(
        organization=session.get_one(Organization, world.organization_id),
        owner=session.get_one(User, world.owner_id),
        user=session.get_one(User, world.user_id),
        members=[session.get_one(OrganizationMember, i) for i in world.member_ids],
        teams=[session.get_one(Team, i) for i in world.team_ids],
        projects=[session.get_one(Project, i) for i in world.project_ids],
        session=session,
        seed=world.seed,
        world=world,
    )


def load_alert_rule(session: Session, alert_rule_id: int) -> AlertRule:
    """Load an alert rule with its triggers and incidents."""
    statement = (
        select(AlertRule)
        .where(AlertRule.id == alert_rule_id)
        .options(selectinload(AlertRule.triggers), selectinload(AlertRule.incidents))
    )
    return session.scalars(statement).one()


@dataclass(frozen=True)
class BrokerMessage:
    """A message as the broker returns it, its JSON value decoded."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any


@dataclass(frozen=True)
class MockFeedback:
    """One run of the feedback pipeline: the row, what was sent, what came back."""

    feedback: Feedback
    occurrence: dict[str, Any]
    message: BrokerMessage


def run_mock_feedback(
    session: Session,
    world: World,
    producer: ConfirmingProducer,
    kafka: KafkaHandle,
) -> MockFeedback:
    """Send a fresh copy of the scenario's feedback on Wind and read it back."""
    wind = world.project_id(FEEDBACK_PROJECT)
    result = create_feedback_issue(
        session, mock_feedback_event(wind), wind,
        FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE, producer=producer,
    )
    sent = next(d for d in result.deliveries if d.topic == OCCURRENCES_TOPIC)

    stored = next(
        m for m in kafka.messages(OCCURRENCES_TOPIC)
        if (m.partition, m.offset) == (sent.partition, sent.offset)
    )
    message = BrokerMessage(
        stored.topic, stored.partition, stored.offset,
        stored.key.decode() if stored.key is not None else None,
        json.loads(stored.value or b"null"),
    )
    assert result.occurrence is not None
    return MockFeedback(result.feedback, result.occurrence, message)
