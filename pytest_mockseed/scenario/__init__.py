"""The reference scenario, in its order: :func:`main` seeds the whole world.

It knows nothing of pytest: the plugin runs it once into a template
database, and the ``mockseed`` command runs it into any database. The same
seed and anchor give the same rows in every run and on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from pytest_mockseed import determinism
from pytest_mockseed.config import DEFAULT_EVENTS, DEFAULT_SEED
from pytest_mockseed.scenario import events, persist, steps

if TYPE_CHECKING:
    from pytest_mockseed.producer import ConfirmingProducer, Delivery

__all__ = ["SentMessage", "World", "main", "mock_feedback_event"]

FEEDBACK_PROJECT = "Wind"
FEEDBACK_URL = "https://sentry.sentry.io/feedback/?statsPeriod=14d"
_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"
)


@dataclass(frozen=True)
class SentMessage:
    """A message the scenario produced, kept so a reused world can send it again."""

    topic: str
    key: str | None
    value: str


@dataclass(frozen=True)
class World:
    """Handles (primary keys) to what the scenario made, in the scenario's order.

    Ids rather than ORM objects, so the world outlives the session that
    seeded it; load the rows in your own session.
    """

    seed: int
    anchor: datetime
    organization_id: int
    owner_id: int
    user_id: int
    member_ids: tuple[int, ...]
    team_ids: tuple[int, ...]
    project_ids: tuple[int, ...]
    project_names: tuple[str, ...]
    alert_rule_ids: tuple[int, ...]
    feedback_id: int | None
    occurrence: Mapping[str, Any] | None
    error_events: int
    transactions: int
    sent: tuple[SentMessage, ...] = ()

    def project_id(self, name: str) -> int:
        """The id of the project called ``name`` (e.g. ``"Wind"``)."""
        return self.project_ids[self.project_names.index(name)]


def main(
    session: Session,
    producer: ConfirmingProducer | None,
    *,
    events_per_project: int = DEFAULT_EVENTS,
    skip_default_setup: bool = False,
    extra_events: bool = False,
    seed: int = DEFAULT_SEED,
    anchor: datetime | None = None,
    bulk: bool = True,
) -> World:
    """Seed the whole world into ``session`` (flushed, not committed).

    ``bulk`` stores events with ``COPY``; ``False`` uses the ORM, which is
    slower and gives the same rows.
    """
    if events_per_project < 0:
        raise ValueError(
            f"events_per_project must be 0 or more, got {events_per_project}"
        )

    anchor = anchor or datetime.now(UTC).replace(microsecond=0)
    with determinism.frozen(anchor, seed) as rng:
        return _seed(
            session,
            producer,
            rng,
            events_per_project,
            skip_default_setup,
            extra_events,
            seed,
            anchor,
            bulk,
        )


def _seed(
    session: Session,
    producer: ConfirmingProducer | None,
    rng: random.Random,
    events_per_project: int,
    skip_default_setup: bool,
    extra_events: bool,
    seed: int,
    anchor: datetime,
    bulk: bool,
) -> World:
    owner = steps.get_superuser(session)
    user = steps.create_user(session)
    steps.create_broadcast(session)

    organization = steps.get_organization(session)
    owner_member = steps.create_member(session, organization, owner, "owner")
    member = steps.create_member(session, organization, user, "member")
    teams, projects = steps.generate_projects(session, organization)

    rule_ids: list[int] = []
    error_count = 0
    store = persist.copy_events if bulk else persist.add_events
    if not skip_default_setup:
        for index, project in enumerate(projects.values()):
            _default_setup(session, project, index, member)
            rule_ids.append(
                steps.create_metric_alert_rule(session, organization, project).id
            )
            ref = events.ProjectRef(project.id, index, project.slug)
            error_count += store(
                session,
                _project_events(rng, ref, events_per_project, extra_events, anchor),
            )

    feedback = _create_mock_user_feedback(session, producer, projects[FEEDBACK_PROJECT])
    ids = {name: project.id for name, project in projects.items()}
    transactions = store(session, events.trace_transactions(rng, ids, anchor))
    session.flush()

    return World(
        seed=seed,
        anchor=anchor,
        organization_id=organization.id,
        owner_id=owner.id,
        user_id=user.id,
        member_ids=(owner_member.id, member.id),
        team_ids=tuple(team.id for team in teams),
        project_ids=tuple(ids.values()),
        project_names=tuple(ids),
        alert_rule_ids=tuple(rule_ids),
        feedback_id=feedback.feedback.id,
        occurrence=feedback.occurrence,
        error_events=error_count,
        transactions=transactions,
        sent=_sent(feedback.deliveries),
    )


def _sent(deliveries: Iterable[Delivery]) -> tuple[SentMessage, ...]:
    return tuple(
        SentMessage(
            d.topic, d.key.decode() if d.key is not None else None, d.value.decode()
        )
        for d in deliveries
    )


def _default_setup(session: Session, project: Any, index: int, member: Any) -> None:
    environment = steps.create_environment(
        session, project, events.environment_of_project(index)
    )
    steps.create_monitor(session, project, environment, index)
    steps.create_access_request(session, member, project.teams[0])


def _project_events(
    rng: random.Random,
    project: events.ProjectRef,
    count: int,
    extra: bool,
    anchor: datetime,
) -> Iterable[dict[str, Any]]:
    yield from events.error_events(rng, project, count, anchor)
    if extra:
        yield from events.extra_events(rng, project, anchor)


def mock_feedback_event(project_id: int) -> dict[str, Any]:
    """The feedback event of the reference scenario, with a fresh event id."""
    contact = {"email": "josh.ferge@sentry.io", "name": "Josh Ferge"}
    return {
        "project_id": project_id,
        "request": {"url": FEEDBACK_URL, "headers": {"User-Agent": _USER_AGENT}},
        "event_id": determinism.new_uuid_hex(),
        "timestamp": determinism.now().timestamp(),
        "received": "2024-4-27T22:23:29.574000+00:00",
        "environment": "production",
        "user": {
            "ip_address": "72.164.175.154",
            "email": contact["email"],
            "id": 880461,
            "isStaff": False,
            "name": contact["name"],
        },
        "contexts": {
            "feedback": {
                "contact_email": contact["email"],
                "name": contact["name"],
                "message": " test test   ",
                "replay_id": "3d621c61593c4ff9b43f8490a78ae18e",
                "url": FEEDBACK_URL,
            }
        },
        "breadcrumbs": [],
        "platform": "javascript",
    }


def _create_mock_user_feedback(
    session: Session, producer: ConfirmingProducer | None, project: Any
) -> Any:
    from pytest_mockseed.domain import FeedbackCreationSource, create_feedback_issue

    return create_feedback_issue(
        session,
        mock_feedback_event(project.id),
        project.id,
        FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE,
        producer=producer,
        has_attachment=True,
    )
