"""create_alert_rule: each rule of DOMAIN.md 7-15, valid and invalid, in PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.domain import ValidationError, create_alert_rule
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleDetectionType,
    AlertRuleProject,
    AlertRuleSensitivity,
    AlertRuleThresholdType,
    AlertRuleTrigger,
    Dataset,
    Organization,
    Project,
    SnubaQueryType,
)
from tests.domain.support import make_rule

ABOVE = AlertRuleThresholdType.ABOVE


def rule_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AlertRule)) or 0


def refused(
    session: Session, organization: Organization, project: Project, **changes: Any
) -> ValidationError:
    """Expect a refusal that leaves no rule behind, and return it."""
    before = rule_count(session)
    with pytest.raises(ValidationError) as raised:
        make_rule(session, organization, project, **changes)
    assert rule_count(session) == before
    return raised.value


def test_the_mock_rule_is_stored_as_the_reference_stores_it(
    session: Session, organization: Organization, project: Project
) -> None:
    rule = make_rule(session, organization, project)

    session.expire_all()
    stored = session.get_one(AlertRule, rule.id)
    assert stored.organization_id == organization.id
    assert (stored.name, stored.query, stored.aggregate) == (
        "My Alert Rule",
        "level:error",
        "count()",
    )
    assert (stored.time_window, stored.resolution) == (600, 60)
    assert (stored.dataset, stored.query_type) == (Dataset.EVENTS, SnubaQueryType.ERROR)
    assert (stored.threshold_type, stored.threshold_period) == (ABOVE, 1)
    assert stored.resolve_threshold is None
    assert stored.comparison_delta is None
    assert stored.detection_type == AlertRuleDetectionType.STATIC
    assert (stored.sensitivity, stored.seasonality, stored.environment_id) == (
        None,
        None,
        None,
    )
    assert list(stored.projects) == [project]
    assert stored.triggers == []


def test_names_need_not_be_unique(
    session: Session, organization: Organization, project: Project
) -> None:
    first = make_rule(session, organization, project)
    second = make_rule(session, organization, project)

    assert first.id != second.id


def test_a_rule_may_watch_no_project(
    session: Session, organization: Organization
) -> None:
    rule = create_alert_rule(
        session, organization, [], "org-wide", "", "count()", 10, ABOVE, 1
    )

    assert (
        session.scalars(
            select(AlertRuleProject).where(AlertRuleProject.alert_rule_id == rule.id)
        ).all()
        == []
    )


def test_owner_environment_and_description_are_kept(
    session: Session, organization: Organization, project: Project
) -> None:
    user = f.UserFactory()
    environment = f.EnvironmentFactory(organization=organization, name="production")

    rule = make_rule(
        session,
        organization,
        project,
        user=user,
        environment=environment,
        description="pages the on-call",
        resolve_threshold=2.5,
    )

    assert (rule.user_id, rule.environment_id) == (user.id, environment.id)
    assert (rule.description, rule.resolve_threshold) == ("pages the on-call", 2.5)


# --- time windows and resolutions (rules 7, 8) ----------------------------------


@pytest.mark.parametrize(
    ("minutes", "resolution_minutes"),
    [
        (1, 1),
        (10, 1),
        (29, 1),
        (30, 2),
        (59, 2),
        (60, 3),
        (90, 3),
        (120, 3),
        (239, 3),
        (240, 5),
        (720, 5),
        (1439, 5),
        (1440, 15),
    ],
)
def test_static_resolution_follows_the_window_table(
    session: Session,
    organization: Organization,
    project: Project,
    minutes: int,
    resolution_minutes: int,
) -> None:
    rule = make_rule(session, organization, project, time_window=minutes)

    assert rule.time_window == minutes * 60
    assert rule.resolution == resolution_minutes * 60


@pytest.mark.parametrize("minutes", [0, -5, 1441, 10.0, "10", True, None])
def test_a_window_outside_one_minute_to_one_day_is_refused(
    session: Session, organization: Organization, project: Project, minutes: object
) -> None:
    error = refused(session, organization, project, time_window=minutes)

    assert error.field == "time_window"


@pytest.mark.parametrize("period", [0, 21, 1.5, "1"])
def test_threshold_period_is_one_to_twenty(
    session: Session, organization: Organization, project: Project, period: object
) -> None:
    assert refused(session, organization, project, threshold_period=period).field == (
        "threshold_period"
    )


@pytest.mark.parametrize("period", [1, 20])
def test_threshold_period_bounds_are_allowed(
    session: Session, organization: Organization, project: Project, period: int
) -> None:
    assert make_rule(session, organization, project, threshold_period=period).id


# --- percent (comparison) rules (rule 11) -----------------------------------------


def test_a_comparison_makes_a_static_rule_a_percent_rule(
    session: Session, organization: Organization, project: Project
) -> None:
    rule = make_rule(
        session, organization, project, time_window=60, comparison_delta=1440
    )

    assert rule.detection_type == AlertRuleDetectionType.PERCENT
    assert rule.comparison_delta == 1440 * 60
    assert rule.resolution == 2 * 3 * 60, "percent rules double the resolution"


def test_a_percent_rule_needs_a_comparison(
    session: Session, organization: Organization, project: Project
) -> None:
    error = refused(session, organization, project, detection_type="percent")

    assert str(error) == "comparison_delta: percent alert rules need one"


@pytest.mark.parametrize("delta", [0, 128161, -1, 1.5])
def test_a_comparison_is_at_most_89_days(
    session: Session, organization: Organization, project: Project, delta: object
) -> None:
    assert refused(session, organization, project, comparison_delta=delta).field == (
        "comparison_delta"
    )


def test_the_longest_comparison_is_allowed(
    session: Session, organization: Organization, project: Project
) -> None:
    rule = make_rule(session, organization, project, comparison_delta=128160)

    assert rule.comparison_delta == 128160 * 60


# --- dynamic rules (rules 9, 10) ---------------------------------------------------


def dynamic(**changes: Any) -> dict[str, Any]:
    arguments = {
        "detection_type": "dynamic",
        "sensitivity": "medium",
        "time_window": 15,
    }
    arguments.update(changes)
    return arguments


def test_a_dynamic_rule_gets_its_window_as_resolution_and_auto_seasonality(
    session: Session, organization: Organization, project: Project
) -> None:
    rule = make_rule(session, organization, project, **dynamic(threshold_type=2))

    assert rule.detection_type == AlertRuleDetectionType.DYNAMIC
    assert rule.sensitivity == AlertRuleSensitivity.MEDIUM
    assert rule.seasonality == "auto"
    assert rule.resolution == rule.time_window == 15 * 60
    assert rule.threshold_type == AlertRuleThresholdType.ABOVE_AND_BELOW


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sensitivity": None}, "sensitivity"),
        ({"sensitivity": "extreme"}, "sensitivity"),
        ({"time_window": 10}, "time_window"),
        ({"time_window": 120}, "time_window"),
        ({"query": "is:unresolved level:error"}, "query"),
        ({"comparison_delta": 60}, "comparison_delta"),
    ],
)
def test_dynamic_rule_requirements(
    session: Session,
    organization: Organization,
    project: Project,
    changes: dict[str, Any],
    field: str,
) -> None:
    assert refused(session, organization, project, **dynamic(**changes)).field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sensitivity": "high"}, "sensitivity"),
        ({"seasonality": "hourly"}, "seasonality"),
        ({"threshold_type": AlertRuleThresholdType.ABOVE_AND_BELOW}, "threshold_type"),
        ({"threshold_type": 7}, "threshold_type"),
        ({"detection_type": "magic"}, "detection_type"),
    ],
)
def test_static_rules_refuse_what_only_dynamic_rules_have(
    session: Session,
    organization: Organization,
    project: Project,
    changes: dict[str, Any],
    field: str,
) -> None:
    assert refused(session, organization, project, **changes).field == field


# --- names, queries, aggregates, datasets (rule 15) ----------------------------------


@pytest.mark.parametrize("name", ["", "   ", "x" * 257, 42, None, "nul\x00"])
def test_bad_names_are_refused(
    session: Session, organization: Organization, project: Project, name: object
) -> None:
    assert refused(session, organization, project, name=name).field == "name"


def test_a_name_of_256_characters_is_allowed(
    session: Session, organization: Organization, project: Project
) -> None:
    assert make_rule(session, organization, project, name="n" * 256).name == "n" * 256


@pytest.mark.parametrize(
    "query",
    [
        "project:earth",
        "level:error !project:earth",
        "release:latest",
        'release:"latest"',
    ],
)
def test_forbidden_query_terms_are_refused(
    session: Session, organization: Organization, project: Project, query: str
) -> None:
    assert refused(session, organization, project, query=query).field == "query"


@pytest.mark.parametrize(
    "query", ["", "level:error", "release:1.2.3", "message:project"]
)
def test_ordinary_queries_are_allowed(
    session: Session, organization: Organization, project: Project, query: str
) -> None:
    assert make_rule(session, organization, project, query=query).query == query


@pytest.mark.parametrize(
    ("aggregate", "stored"),
    [
        ("count()", "count()"),
        ("count_unique(user)", "count_unique(tags[sentry:user])"),
        ("count_unique(tags[sentry:release])", "count_unique(tags[sentry:release])"),
        (" count_unique( release ) ", "count_unique(tags[sentry:release])"),
    ],
)
def test_error_aggregates(
    session: Session,
    organization: Organization,
    project: Project,
    aggregate: str,
    stored: str,
) -> None:
    assert (
        make_rule(session, organization, project, aggregate=aggregate).aggregate
        == stored
    )


@pytest.mark.parametrize(
    "aggregate",
    [
        "p95(transaction.duration)",
        "avg(measurements.lcp)",
        "percentile(transaction.duration, 0.95)",
        "failure_rate()",
        "apdex(300)",
        "count_miserable(user, 300)",
    ],
)
def test_performance_aggregates(
    session: Session, organization: Organization, project: Project, aggregate: str
) -> None:
    rule = make_rule(
        session,
        organization,
        project,
        aggregate=aggregate,
        query_type=SnubaQueryType.PERFORMANCE,
        dataset="transactions",
    )

    assert rule.dataset == Dataset.TRANSACTIONS


@pytest.mark.parametrize(
    "aggregate",
    [
        "",
        "count",
        "bogus()",
        "count_unique(email)",
        "p95(transaction.duration)",
        "count(); DROP TABLE alert_rules",
        "failure_rate(user)",
    ],
)
def test_invalid_aggregates_are_refused(
    session: Session, organization: Organization, project: Project, aggregate: str
) -> None:
    assert refused(session, organization, project, aggregate=aggregate).field == (
        "aggregate"
    )


@pytest.mark.parametrize(
    ("query_type", "dataset"),
    [
        (SnubaQueryType.ERROR, "transactions"),
        (SnubaQueryType.PERFORMANCE, "events"),
        (SnubaQueryType.CRASH_RATE, "events"),
        (SnubaQueryType.ERROR, "nonsense"),
    ],
)
def test_the_dataset_must_suit_the_query_type(
    session: Session,
    organization: Organization,
    project: Project,
    query_type: SnubaQueryType,
    dataset: str,
) -> None:
    error = refused(
        session, organization, project, query_type=query_type, dataset=dataset
    )

    assert error.field == "dataset"


CRASH_RATE = "percentage(sessions_crashed, sessions) AS _crash_rate_alert_aggregate"


def test_crash_rate_rules_use_the_metrics_dataset_and_long_windows(
    session: Session, organization: Organization, project: Project
) -> None:
    rule = make_rule(
        session,
        organization,
        project,
        query_type=SnubaQueryType.CRASH_RATE,
        dataset="metrics",
        aggregate=CRASH_RATE,
        time_window=30,
    )

    assert (rule.dataset, rule.aggregate) == (Dataset.METRICS, CRASH_RATE)


def test_crash_rate_rules_refuse_other_windows(
    session: Session, organization: Organization, project: Project
) -> None:
    error = refused(
        session,
        organization,
        project,
        query_type=SnubaQueryType.CRASH_RATE,
        dataset="metrics",
        aggregate=CRASH_RATE,
        time_window=10,
    )

    assert error.field == "time_window"


@pytest.mark.parametrize(
    ("query_type", "dataset", "event_types", "ok"),
    [
        (SnubaQueryType.ERROR, "events", ["error", "default"], True),
        (SnubaQueryType.ERROR, "events", ["transaction"], False),
        (SnubaQueryType.PERFORMANCE, "transactions", ["transaction"], True),
        (SnubaQueryType.PERFORMANCE, "transactions", ["error"], False),
        (SnubaQueryType.ERROR, "events", "error", False),
    ],
)
def test_event_types_must_suit_the_query_type(
    session: Session,
    organization: Organization,
    project: Project,
    query_type: SnubaQueryType,
    dataset: str,
    event_types: object,
    ok: bool,
) -> None:
    changes = {"query_type": query_type, "dataset": dataset, "event_types": event_types}
    if query_type == SnubaQueryType.PERFORMANCE:
        changes["aggregate"] = "p95(transaction.duration)"

    if ok:
        assert make_rule(session, organization, project, **changes).id
    else:
        assert refused(session, organization, project, **changes).field == "event_types"


# --- ownership -----------------------------------------------------------------------


def test_at_most_one_project(
    session: Session, organization: Organization, project: Project
) -> None:
    other = f.ProjectFactory(organization=organization)

    error = refused(session, organization, project, projects=[project, other])

    assert str(error) == "projects: an alert rule watches at most one project"


def test_a_project_of_another_organization_is_refused(
    session: Session, organization: Organization, project: Project
) -> None:
    stranger = f.ProjectFactory()

    assert (
        refused(session, organization, project, projects=[stranger]).field == "projects"
    )


def test_an_environment_of_another_organization_is_refused(
    session: Session, organization: Organization, project: Project
) -> None:
    elsewhere = f.EnvironmentFactory()

    assert refused(session, organization, project, environment=elsewhere).field == (
        "environment"
    )


def test_a_refusal_leaves_no_partial_rule(
    session: Session, organization: Organization, project: Project
) -> None:
    links_before = session.scalar(select(func.count()).select_from(AlertRuleProject))

    refused(session, organization, project, aggregate="bogus()")

    assert (
        session.scalar(select(func.count()).select_from(AlertRuleProject))
        == links_before
    )
    assert session.scalar(select(func.count()).select_from(AlertRuleTrigger)) == 0


def test_validation_errors_read_field_colon_message() -> None:
    error = ValidationError("time_window", "must be between 1 and 1440")

    assert str(error) == "time_window: must be between 1 and 1440"
    assert (error.field, error.message) == ("time_window", "must be between 1 and 1440")
    assert isinstance(error, ValueError)
