"""What the scenario fixtures hand a test: the seeded rows, loaded in its session."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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
from pytest_mockseed.producer import ConfirmingProducer, Delivery
from pytest_mockseed.scenario import FEEDBACK_PROJECT, World, mock_feedback_event
from pytest_mockseed.services.handles import KafkaHandle
from pytest_mockseed.services.kafka import KafkaMessage


class SeededOrg:
    """The seeded organization and its people, teams and projects.

    Every row belongs to ``session``, the test's own session: change them,
    add to them, even commit; the next test still sees the seeded world.
    Rows are loaded on first access, so a test pays only for what it reads.
    """

    def __init__(self, session: Session, world: World) -> None:
        self.session = session
        self.world = world
        self.seed = world.seed

    @functools.cached_property
    def organization(self) -> Organization:
        """The organization with slug "default"."""
        return self.session.get_one(Organization, self.world.organization_id)

    @functools.cached_property
    def owner(self) -> User:
        """The superuser, owner of the organization."""
        return self.session.get_one(User, self.world.owner_id)

    @functools.cached_property
    def user(self) -> User:
        """The dummy user, ``dummy@example.com``, a member."""
        return self.session.get_one(User, self.world.user_id)

    @functools.cached_property
    def members(self) -> list[OrganizationMember]:
        """The owner's and the dummy user's memberships."""
        return _in_order(self.session, OrganizationMember, self.world.member_ids)

    @functools.cached_property
    def teams(self) -> list[Team]:
        """Massive Dynamic and Captain Planet."""
        return _in_order(self.session, Team, self.world.team_ids)

    @functools.cached_property
    def projects(self) -> list[Project]:
        """Ludic Science, Earth, Fire, Wind, Water and Heart, in that order."""
        return _in_order(self.session, Project, self.world.project_ids)

    def project(self, name: str) -> Project:
        """The project called ``name``, e.g. ``seeded_org.project("Wind")``."""
        return next(project for project in self.projects if project.name == name)

    def __repr__(self) -> str:
        return (
            f"<SeededOrg seed={self.seed} organization_id={self.world.organization_id}>"
        )


_Row = TypeVar("_Row", OrganizationMember, Team, Project)


def _in_order(session: Session, model: type[_Row], ids: Sequence[int]) -> list[_Row]:
    """Load rows by primary key in one query, in the order of ``ids``."""
    found = {
        row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))
    }
    return [found[row_id] for row_id in ids]


def load_seeded_org(session: Session, world: World) -> SeededOrg:
    """The world's rows as seen from ``session``, loaded when first read."""
    return SeededOrg(session, world)


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
        session,
        mock_feedback_event(wind),
        wind,
        FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE,
        producer=producer,
    )
    sent = next((d for d in result.deliveries if d.topic == OCCURRENCES_TOPIC), None)
    if sent is None or result.occurrence is None:
        raise RuntimeError(
            f"the mock feedback was not sent: {result.feedback.status} "
            f"({result.feedback.reason or 'no broker confirmation'})"
        )

    stored = _read_back(kafka, sent)
    message = BrokerMessage(
        stored.topic,
        stored.partition,
        stored.offset,
        stored.key.decode() if stored.key is not None else None,
        json.loads(stored.value or b"null"),
    )
    return MockFeedback(result.feedback, result.occurrence, message)


def _read_back(kafka: KafkaHandle, sent: Delivery) -> KafkaMessage:
    """The message the broker confirmed at ``sent``'s partition and offset."""
    for stored in kafka.messages(sent.topic):
        if (stored.partition, stored.offset) == (sent.partition, sent.offset):
            return stored
    raise RuntimeError(
        f"the broker confirmed a message at {sent.topic}[{sent.partition}]@{sent.offset} "
        "but reading the topic back did not return it"
    )
