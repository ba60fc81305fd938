"""The factories: valid rows, whole chains, determinism, uniqueness at scale."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.factories.base import MockseedFactory, session_of
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleProject,
    EventType,
    FeedbackStatus,
    IncidentProject,
    IncidentStatus,
    IncidentType,
    Organization,
    Project,
    User,
    metadata,
)


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("factory", f.ALL_FACTORIES, ids=lambda each: each.__name__)
def test_every_factory_creates_a_valid_row(
    session: Session, factory: type[MockseedFactory]
) -> None:
    model = factory._meta.model

    instance = factory()

    assert instance.id is not None
    session.expunge_all()
    assert session.get(model, instance.id) is not None


def test_factories_flush_but_never_commit(session: Session, engine: Engine) -> None:
    user = f.UserFactory()

    with engine.connect() as other:
        seen = other.scalar(select(func.count()).where(User.id == user.id))

    assert seen == 0
    assert session.get(User, user.id) is user


def test_incident_factory_alone_creates_its_whole_chain(session: Session) -> None:
    incident = f.IncidentFactory()

    assert incident.type is IncidentType.ALERT_TRIGGERED
    assert incident.status is IncidentStatus.OPEN
    assert incident.identifier == 1
    assert incident.alert_rule.organization is incident.organization
    assert incident.projects == incident.alert_rule.projects
    assert [p.organization for p in incident.projects] == [incident.organization]
    assert incident.date_detected == incident.date_started
    counts = [
        _count(session, model)
        for model in (Organization, AlertRule, Project, AlertRuleProject)
    ]
    assert counts == [1, 1, 1, 1]
    assert _count(session, IncidentProject) == 1


def test_incident_identifiers_count_from_one_per_organization(
    session: Session,
) -> None:
    first = f.IncidentFactory()
    same_org = [f.IncidentFactory(organization=first.organization) for _ in range(2)]
    other_org = f.IncidentFactory()

    assert [first.identifier] + [i.identifier for i in same_org] == [1, 2, 3]
    assert other_org.identifier == 1


def test_closed_incident_trait(session: Session) -> None:
    incident = f.IncidentFactory(closed=True)

    assert incident.status is IncidentStatus.CLOSED
    assert incident.date_closed is not None
    assert incident.date_closed >= incident.date_started


def test_alert_rule_watches_one_new_project_of_its_organization(
    session: Session,
) -> None:
    rule = f.AlertRuleFactory()

    assert len(rule.projects) == 1
    assert rule.projects[0].organization is rule.organization


@pytest.mark.parametrize(
    ("minutes", "resolution"), [(10, 60), (29, 60), (30, 120), (60, 180), (1440, 900)]
)
def test_alert_rule_resolution_follows_its_time_window(
    session: Session, minutes: int, resolution: int
) -> None:
    rule = f.AlertRuleFactory(time_window=minutes * 60)

    assert rule.resolution == resolution


def test_alert_rule_links_exactly_the_given_projects(session: Session) -> None:
    organization = f.OrganizationFactory()
    earth, fire = f.ProjectFactory.create_batch(2, organization=organization)

    linked = f.AlertRuleFactory(organization=organization, projects=[earth, fire])
    unlinked = f.AlertRuleFactory(projects=[])

    assert linked.projects == [earth, fire]
    assert unlinked.projects == []
    assert _count(session, AlertRuleProject) == 2


def test_trigger_labels_stay_unique_per_rule(session: Session) -> None:
    rule = f.AlertRuleFactory()

    labels = [f.AlertRuleTriggerFactory(alert_rule=rule).label for _ in range(3)]

    assert labels == ["critical", "warning", "trigger-3"]


def test_trigger_action_emails_a_member_of_the_rule_organization(
    session: Session,
) -> None:
    action = f.AlertRuleTriggerActionFactory()

    organization = action.alert_rule_trigger.alert_rule.organization
    member_user_ids = {str(member.user_id) for member in organization.members}
    assert action.target_identifier in member_user_ids


def test_transaction_factory_makes_transactions(session: Session) -> None:
    transaction = f.TransactionEventFactory()

    assert transaction.type is EventType.TRANSACTION
    assert transaction.message == transaction.transaction
    assert transaction.data["contexts"]["trace"]["trace_id"] == transaction.trace_id


def test_filtered_feedback_trait_records_the_reason(session: Session) -> None:
    feedback = f.FeedbackFactory(filtered=True)

    assert feedback.status is FeedbackStatus.FILTERED
    assert feedback.reason == "empty"
    assert feedback.occurrence_id is None
    assert not feedback.delivered


def _make_world(session: Session, seed: int) -> None:
    f.reseed(seed)
    f.IncidentFactory.create_batch(2)
    f.EventFactory.create_batch(3)
    f.TransactionEventFactory()
    f.FeedbackFactory()
    f.MonitorCheckInFactory()
    f.AlertRuleTriggerActionFactory()
    f.IncidentSubscriptionFactory()
    f.OrganizationAccessRequestFactory()


@contextlib.contextmanager
def _fresh_database(engine: Engine, name: str) -> Iterator[Engine]:
    """Create database ``name`` with the schema, and drop it afterwards.

    A fresh database restarts the id sequences, so two worlds can be
    compared row for row, ids included.
    """
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    fresh = create_engine(engine.url.set(database=name))
    try:
        metadata.create_all(fresh)
        yield fresh
    finally:
        fresh.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))


def _world(engine: Engine, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    """Make a world from ``seed`` in a fresh database and return every row."""
    name = f"mockseed_factories_{os.getpid()}_{seed}"
    with _fresh_database(engine, name) as fresh, Session(fresh) as session:
        with f.bound_to(session):
            _make_world(session, seed)
        return {
            table.name: [
                tuple(row) for row in session.execute(table.select().order_by("id"))
            ]
            for table in metadata.sorted_tables
        }


def test_the_same_seed_gives_the_same_rows(engine: Engine) -> None:
    first = _world(engine, seed=7)
    second = _world(engine, seed=7)

    assert sum(len(rows) for rows in first.values()) > 40
    assert first == second


def test_another_seed_gives_other_rows(engine: Engine) -> None:
    first = _world(engine, seed=7)
    other = _world(engine, seed=8)

    assert first["users"] != other["users"]
    assert first["events"] != other["events"]


def test_reseed_restarts_sequences(session: Session) -> None:
    f.UserFactory.create_batch(3)

    f.reseed(1)

    assert f.UserFactory.build().username.endswith(".0@example.com")


def test_times_count_back_from_the_anchor(session: Session) -> None:
    anchor = datetime(2030, 1, 1, tzinfo=UTC)
    f.reseed(1, anchor_time=anchor)

    events = f.EventFactory.create_batch(20)

    assert all(anchor - timedelta(days=14) <= e.timestamp <= anchor for e in events)


def test_a_naive_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        f.reseed(1, anchor_time=datetime(2030, 1, 1))


def _insert_built(
    session: Session, factory: Any, count: int, **kwargs: Any
) -> list[dict[str, Any]]:
    """Build ``count`` rows with ``factory``, insert them in one statement."""
    built = factory.build_batch(count, **kwargs)
    model = factory._meta.model
    names = [c.key for c in model.__table__.columns if c.key != "id"]
    rows = [{name: getattr(each, name) for name in names} for each in built]
    session.execute(insert(model), rows)
    return rows


def test_unique_columns_survive_the_100_000th_row(session: Session) -> None:
    # Uniqueness comes from the sequence number, not from Faker: the same long
    # name for every row, and numbers up to 100,000, still give no conflict.
    long_name = "Maximilian Alexander " * 9
    f.UserFactory.reset_sequence(80_000)

    rows = _insert_built(session, f.UserFactory, 20_000, name=long_name)

    assert len({row["username"] for row in rows}) == 20_000
    assert _count(session, User) == 20_000


def test_slugs_stay_unique_within_one_organization(session: Session) -> None:
    organization = f.OrganizationFactory()

    projects = f.ProjectFactory.create_batch(
        300, organization=organization, name="Earth"
    )

    assert len({project.slug for project in projects}) == 300


def test_organization_slugs_survive_the_100_000th_row(session: Session) -> None:
    f.OrganizationFactory.reset_sequence(99_000)

    rows = _insert_built(session, f.OrganizationFactory, 1_000, name="Default")

    assert len({row["slug"] for row in rows}) == 1_000


class _UserSubclassFactory(f.UserFactory):
    """A user-declared factory, which ``bound_to`` must bind too."""


@pytest.fixture
def unbound_factories() -> Iterator[None]:
    """Leave every factory without a session, as after import."""
    with f.bound_to(None):
        yield


def test_bound_to_binds_every_factory_and_restores(
    engine: Engine, unbound_factories: None
) -> None:
    with Session(engine) as outer, Session(engine) as inner:
        with f.bound_to(outer):
            with f.bound_to(inner):
                assert {session_of(each) for each in f.ALL_FACTORIES} == {inner}
                assert session_of(_UserSubclassFactory) is inner
            assert {session_of(each) for each in f.ALL_FACTORIES} == {outer}

        assert {session_of(each) for each in f.ALL_FACTORIES} == {None}


def test_bound_to_restores_after_an_error(
    engine: Engine, unbound_factories: None
) -> None:
    with Session(engine) as session, pytest.raises(KeyError), f.bound_to(session):
        raise KeyError("boom")

    assert session_of(f.IncidentFactory) is None


def test_factories_need_a_session_only_to_create(unbound_factories: None) -> None:
    assert f.IncidentFactory.build().alert_rule is not None

    with pytest.raises(RuntimeError, match="No session"):
        f.UserFactory()
