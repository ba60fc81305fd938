"""Hostile input (issue 7): every call ends in a result or a ValidationError.

Property tests feed arbitrary values to the rules against the real database
and broker: anything else raised fails the test, and so does a refusal that
left a row behind or an acceptance that wrote the wrong number of rows.
Each example runs in a savepoint that is rolled back, so examples do not
see each other. Settings are derandomized, so CI runs the same examples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from confluent_kafka import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.domain import (
    FeedbackCreationSource,
    FilterReason,
    ValidationError,
    create_alert_rule,
    create_alert_rule_trigger,
    create_feedback_issue,
    create_incident,
    create_incident_activity,
    update_alert_rule_trigger_actions,
)
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleProject,
    AlertRuleThresholdType,
    AlertRuleTrigger,
    AlertRuleTriggerAction,
    Feedback,
    FeedbackStatus,
    IncidentActivityType,
    IncidentType,
    Organization,
    Project,
)
from pytest_mockseed.producer import ConfirmingProducer, Delivery
from pytest_mockseed.services.handles import KafkaHandle

EXAMPLES = 1000
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).parent / "occurrence.schema.json").read_text())
)
REASONS = {reason.value for reason in FilterReason}
ABOVE = AlertRuleThresholdType.ABOVE

#: Strings users paste into forms, and what each one must become.
PASTED = {
    "quotes": 'O\'Brien said "hi" `and` \\left',
    "sql": "'; DROP TABLE feedback; -- Robert'); DELETE FROM users;--",
    "emoji": "🙂👍🏽🇳🇿 works 🎉",
    "non-bmp": "\U0001d518\U0001d52b\U0001d526 \U0002070e\U00020731 \U00013000",
    "rtl-and-zero-width": "\u05e9\u05dc\u05d5\u05dd\u200b\u0639\u0627\u0644\u0645\u202e\ufeff",
    "control": "line\r\nbreak\ttab\x1b[31m",
    "100kb": "x" * 100_000,
    "nul": "before\x00after",
    "lone-surrogate": "half \ud83d pair",
}
UNSTORABLE = {"nul", "lone-surrogate"}


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def counts(session: Session, *models: type[object]) -> tuple[int, ...]:
    """Count the rows of several tables in one round trip."""
    columns = [select(func.count()).select_from(m).scalar_subquery() for m in models]
    return tuple(session.execute(select(*columns)).one())


@pytest.fixture(scope="module")
def quick_producer(mockseed_kafka: KafkaHandle) -> Iterator[ConfirmingProducer]:
    """A producer that sends at once: these tests confirm one message at a time."""
    settings = {"linger.ms": 0}
    with ConfirmingProducer(mockseed_kafka.bootstrap_servers, **settings) as producer:
        yield producer


@pytest.fixture
def project(session: Session) -> Project:
    return f.ProjectFactory()


# --- value strategies ----------------------------------------------------------------

surrogates = st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1
)
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(sorted(PASTED.values())),
    st.text(max_size=10).map(lambda text: text + "\x00"),
    surrogates,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
odd_objects = st.one_of(
    st.binary(max_size=4),
    st.just(object()),
    st.sets(st.integers(), max_size=2),
    st.datetimes(),
    st.tuples(st.integers(), st.text(max_size=3)),
)
anything = st.one_of(json_values, odd_objects)

MISSING = object()


def mostly(
    valid: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Valid three times in four: ``one_of`` would weigh every leaf alike."""
    return st.integers(0, 3).flatmap(lambda pick: junk if pick == 0 else valid)


safe_text = st.text(st.characters(blacklist_characters="\x00"), max_size=40)
safe_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | safe_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(safe_text, inner, max_size=3)
    ),
    max_leaves=8,
)
emails = st.builds(
    "{}@{}.example".format,
    st.text("abcdefghij.+", min_size=1, max_size=8),
    st.text("klmnopqrst", min_size=1, max_size=8),
)
uuid_texts = st.uuids().flatmap(
    lambda u: st.sampled_from([u.hex, str(u), str(u).upper()])
)

#: Feedback and event fields, each with values a real client could send
#: (``MISSING`` leaves the key out) ...
FEEDBACK_CHOICES: dict[str, st.SearchStrategy[Any]] = {
    "message": st.one_of(
        safe_text,
        st.sampled_from([" test test   ", "Sent in the unattended mode", "", " \n"]),
        st.sampled_from(sorted(PASTED[c] for c in PASTED if c not in UNSTORABLE)),
        st.just(MISSING),
    ),
    "contact_email": st.one_of(st.just(MISSING), st.none(), emails),
    "name": st.one_of(st.just(MISSING), safe_text),
    "replay_id": st.one_of(st.just(MISSING), st.uuids().map(lambda u: u.hex)),
    "associated_event_id": st.one_of(st.just(MISSING), uuid_texts),
    "contexts": st.one_of(
        st.just({}), st.dictionaries(safe_text, safe_json, max_size=2)
    ),
    "event_id": st.one_of(st.just(MISSING), uuid_texts),
    "timestamp": st.one_of(
        st.just(MISSING),
        st.floats(0, 4e9),
        st.datetimes(timezones=st.just(UTC)),
        st.datetimes().map(datetime.isoformat),
    ),
    "received": st.one_of(
        st.just(MISSING), safe_text, st.datetimes(timezones=st.just(UTC))
    ),
    "level": st.one_of(st.just(MISSING), st.sampled_from(["fatal", "error", "info"])),
    "platform": st.one_of(st.just(MISSING), st.sampled_from(["javascript", "python"])),
    "environment": st.one_of(st.just(MISSING), safe_text),
    "user": st.one_of(
        st.just(MISSING),
        st.fixed_dictionaries(
            {"id": st.integers(0, 10**9) | safe_text},
            optional={
                "email": emails,
                "name": safe_text,
                "isStaff": st.booleans(),
            },
        ),
    ),
    "tags": st.one_of(
        st.just(MISSING),
        st.dictionaries(safe_text, safe_text, max_size=3),
        st.lists(st.tuples(safe_text, safe_text), max_size=3),
    ),
    "request": st.one_of(st.just(MISSING), st.fixed_dictionaries({"url": safe_text})),
    "release": st.one_of(st.just(MISSING), safe_text),
}
#: ... and junk for any of them.
FEEDBACK_JUNK: dict[str, st.SearchStrategy[Any]] = {
    "message": st.one_of(texts, st.text(min_size=4000, max_size=4200), anything),
    "contexts": st.one_of(anything, st.just("feedback")),
}
FEEDBACK_KEYS = ("message", "contact_email", "name", "replay_id", "associated_event_id")


@st.composite
def feedback_events(draw: st.DrawFn) -> object:
    """Feedback events with up to three fields replaced by junk, or pure junk."""
    if draw(st.integers(0, 49)) == 0:
        return draw(anything)

    broken = draw(st.sets(st.sampled_from(sorted(FEEDBACK_CHOICES)), max_size=3))
    values = {
        field: draw(FEEDBACK_JUNK.get(field, anything) if field in broken else choice)
        for field, choice in FEEDBACK_CHOICES.items()
    }
    feedback = _present({key: values.pop(key) for key in FEEDBACK_KEYS})
    contexts = values.pop("contexts")
    if isinstance(contexts, dict):
        contexts = {**contexts, "feedback": feedback}
    return _present(values) | {"contexts": contexts}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not MISSING}


# --- create_feedback_issue -----------------------------------------------------------


def feedback_outcome(
    session: Session,
    project: Project,
    event: object,
    source: FeedbackCreationSource,
    producer: ConfirmingProducer,
) -> tuple[str, Delivery | None]:
    """Run one event and check its result; say how it ended."""
    try:
        result = create_feedback_issue(
            session,
            event,  # type: ignore[arg-type]
            project.id,
            source,
            producer=producer,
        )
    except ValidationError:
        return "refused", None

    row = result.feedback
    if result.filtered:
        assert row.reason in REASONS
        assert (row.delivered, result.deliveries, result.occurrence) == (
            False,
            (),
            None,
        )
        return "filtered", None

    assert (row.status, row.reason, row.delivered) == (
        FeedbackStatus.ACCEPTED,
        None,
        True,
    )
    assert [d.topic for d in result.deliveries] == ["ingest-occurrences", "outcomes"]
    produced = json.loads(result.deliveries[0].value)
    VALIDATOR.validate(produced)
    assert produced["id"] == row.occurrence_id
    return "delivered", result.deliveries[0]


def test_feedback_never_fails_otherwise_nor_half_writes(
    session: Session,
    project: Project,
    quick_producer: ConfirmingProducer,
    read_back: Callable[[Delivery], Message],
) -> None:
    seen = {"refused": 0, "filtered": 0, "delivered": 0}
    confirmed: list[Delivery] = []

    before = count(session, Feedback)  # every example is rolled back

    @PROPERTY
    @given(event=feedback_events(), source=st.sampled_from(FeedbackCreationSource))
    def check(event: object, source: FeedbackCreationSource) -> None:
        savepoint = session.begin_nested()
        try:
            outcome, delivery = feedback_outcome(
                session, project, event, source, quick_producer
            )
            assert count(session, Feedback) == before + (outcome != "refused")
        finally:
            savepoint.rollback()
        seen[outcome] += 1
        confirmed.extend([delivery] if delivery else [])

    check()

    assert sum(seen.values()) >= EXAMPLES
    assert min(seen.values()) >= 50, seen
    for delivery in confirmed[:: max(len(confirmed) // 20, 1)]:
        assert read_back(delivery).value() == delivery.value


@pytest.mark.parametrize("case", sorted(PASTED))
def test_pasted_feedback(
    session: Session, project: Project, quick_producer: ConfirmingProducer, case: str
) -> None:
    text = PASTED[case]
    event = {"contexts": {"feedback": {"message": text, "name": text[:200]}}}

    if case in UNSTORABLE:
        with pytest.raises(ValidationError, match=r"contexts\.feedback\.message"):
            create_feedback_issue(
                session,
                event,
                project.id,
                "new_feedback_envelope",
                producer=quick_producer,
            )
        assert count(session, Feedback) == 0
        return

    result = create_feedback_issue(
        session, event, project.id, "new_feedback_envelope", producer=quick_producer
    )

    session.expire_all()
    stored = session.get_one(Feedback, result.feedback.id)
    assert (stored.message, stored.name) == (text, text[:200])
    if case == "100kb":
        assert stored.reason == "too_large"
    else:
        assert stored.delivered
        assert json.loads(result.deliveries[0].value)["subtitle"] == text


# --- create_alert_rule ---------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "query",
    "aggregate",
    "time_window",
    "threshold_type",
    "threshold_period",
    "resolve_threshold",
    "query_type",
    "dataset",
    "event_types",
    "comparison_delta",
    "detection_type",
    "sensitivity",
    "seasonality",
    "description",
    "projects",
)
RULE_CHOICES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["My Alert Rule", "n" * 256, "Ünïcödé 🙂"]),
    "query": st.sampled_from(["", "level:error", "message:project", "release:1.0"]),
    "aggregate": st.sampled_from(["count()", "count_unique(user)", "count_unique()"]),
    "time_window": st.sampled_from([1, 5, 10, 15, 30, 60, 1440]),
    "threshold_type": st.sampled_from([0, 1, AlertRuleThresholdType.ABOVE]),
    "threshold_period": st.integers(1, 20),
    "resolve_threshold": st.one_of(st.none(), st.floats(-1e6, 1e6)),
    "query_type": st.just(0),
    "dataset": st.just("events"),
    "event_types": st.one_of(st.none(), st.just(["error", "default"])),
    "comparison_delta": st.one_of(st.none(), st.integers(1, 128160)),
    "detection_type": st.sampled_from(["static", "percent", "dynamic"]),
    "sensitivity": st.one_of(st.none(), st.sampled_from(["low", "medium", "high"])),
    "seasonality": st.none(),
    "description": st.one_of(st.none(), st.text(max_size=50)),
    "projects": st.sampled_from(["own", "none"]),
}
RULE_JUNK: dict[str, st.SearchStrategy[Any]] = {
    "aggregate": st.one_of(
        anything,
        st.builds(
            "{}({})".format,
            st.sampled_from(["count", "p95", "percentile", "apdex", "sum", "x"]),
            st.text("abcdefuser_.:[] ,0123456789", max_size=20),
        ),
    ),
    "query": st.one_of(
        anything,
        st.builds(
            "{}{}:{}".format,
            st.sampled_from(["", "!"]),
            st.sampled_from(["project", "release", "is", "level", "PROJECT"]),
            st.sampled_from(["latest", '"latest"', "unresolved", "x", ""]),
        ),
    ),
    "projects": st.sampled_from(["two", "stranger", "text", "ints"]),
}


@st.composite
def rule_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """Valid rule arguments with up to three of them replaced by junk."""
    broken = draw(st.sets(st.sampled_from(RULE_FIELDS), max_size=3))
    return {
        field: draw(
            RULE_JUNK.get(field, anything) if field in broken else RULE_CHOICES[field]
        )
        for field in RULE_FIELDS
    }


def test_alert_rules_never_fail_otherwise_nor_half_write(session: Session) -> None:
    organization = f.OrganizationFactory()
    own = f.ProjectFactory(organization=organization)
    projects = {
        "own": [own],
        "none": [],
        "two": [own, f.ProjectFactory(organization=organization)],
        "stranger": [f.ProjectFactory()],
        "text": "Earth",
        "ints": [own.id],
    }
    seen = {"created": 0, "refused": 0}

    tables = (AlertRule, AlertRuleProject)
    before = counts(session, *tables)  # every example is rolled back

    @PROPERTY
    @given(arguments=rule_arguments())
    def check(arguments: dict[str, Any]) -> None:
        arguments["projects"] = projects[arguments["projects"]]
        savepoint = session.begin_nested()
        try:
            rule = create_alert_rule(session, organization, **arguments)
        except ValidationError:
            seen["refused"] += 1
            assert counts(session, *tables) == before
        else:
            seen["created"] += 1
            links = len(arguments["projects"])
            assert counts(session, *tables) == (before[0] + 1, before[1] + links)
            assert rule.time_window % 60 == 0
            assert rule.resolution % 60 == 0
        finally:
            savepoint.rollback()

    check()

    assert min(seen.values()) >= 100, seen


@pytest.mark.parametrize("case", sorted(PASTED))
def test_pasted_rule_names_and_queries(
    session: Session, project: Project, case: str
) -> None:
    text = PASTED[case]
    organization = project.organization

    if case in UNSTORABLE or case == "100kb":
        with pytest.raises(ValidationError, match="name"):
            create_alert_rule(
                session, organization, [project], text, "", "count()", 10, ABOVE, 1
            )
        with pytest.raises(ValidationError, match="query"):
            create_alert_rule(
                session, organization, [project], "n", text, "count()", 10, ABOVE, 1
            )
        assert count(session, AlertRule) == 0
        return

    rule = create_alert_rule(
        session, organization, [project], text, text, "count()", 10, ABOVE, 1
    )

    session.expire_all()
    stored = session.get_one(AlertRule, rule.id)
    assert (stored.name, stored.query) == (text, text)


# --- create_alert_rule_trigger -------------------------------------------------------


def test_triggers_never_fail_otherwise_nor_half_write(session: Session) -> None:
    organization = f.OrganizationFactory()
    project = f.ProjectFactory(organization=organization)

    def rule(**changes: Any) -> AlertRule:
        arguments: dict[str, Any] = {"resolve_threshold": None, "threshold_type": 0}
        arguments.update(changes)
        threshold_type = arguments.pop("threshold_type")
        window = arguments.pop("time_window", 10)
        return create_alert_rule(
            session,
            organization,
            [project],
            "r",
            "",
            "count()",
            window,
            threshold_type,
            1,
            **arguments,
        )

    with_warning = rule(resolve_threshold=5)
    create_alert_rule_trigger(session, with_warning, "warning", 10)
    rules = [
        rule(),
        rule(threshold_type=1, resolve_threshold=5),
        with_warning,
        rule(
            detection_type="dynamic",
            sensitivity="high",
            time_window=15,
            threshold_type=2,
        ),
    ]
    seen = {"created": 0, "refused": 0}
    labels = mostly(
        st.one_of(st.sampled_from(["critical", "warning", "other"]), safe_text),
        st.one_of(texts, anything),
    )
    thresholds = mostly(
        st.one_of(st.sampled_from([0, 5, 6, 10, 4.5, 5.5]), st.floats(-100, 100)),
        st.one_of(
            st.floats(), st.integers(), st.sampled_from([10**400, True]), anything
        ),
    )

    before = count(session, AlertRuleTrigger)  # every example is rolled back

    @PROPERTY
    @given(which=st.integers(0, len(rules) - 1), label=labels, threshold=thresholds)
    def check(which: int, label: Any, threshold: Any) -> None:
        savepoint = session.begin_nested()
        try:
            trigger = create_alert_rule_trigger(session, rules[which], label, threshold)
        except ValidationError:
            seen["refused"] += 1
            assert count(session, AlertRuleTrigger) == before
        else:
            seen["created"] += 1
            assert count(session, AlertRuleTrigger) == before + 1
            assert math.isfinite(trigger.alert_threshold)
        finally:
            savepoint.rollback()
            session.expire(rules[which], ["triggers"])

    check()

    assert min(seen.values()) >= 100, seen


@pytest.mark.parametrize("case", sorted(PASTED))
def test_pasted_labels_titles_and_comments(
    session: Session, project: Project, case: str
) -> None:
    text = PASTED[case]
    organization: Organization = project.organization
    rule = create_alert_rule(
        session, organization, [project], "r", "", "count()", 10, ABOVE, 1
    )
    started = datetime.now(UTC) - timedelta(minutes=5)

    if case in UNSTORABLE:
        with pytest.raises(ValidationError, match="label"):
            create_alert_rule_trigger(session, rule, text, 10)
        with pytest.raises(ValidationError, match="title"):
            create_incident(
                session,
                organization,
                IncidentType.ALERT_TRIGGERED,
                text,
                started,
                alert_rule=rule,
            )
        return

    if case == "100kb":
        with pytest.raises(ValidationError, match="label"):
            create_alert_rule_trigger(session, rule, text, 10)
    else:
        assert create_alert_rule_trigger(session, rule, text, 10).label == text
    incident = create_incident(
        session,
        organization,
        IncidentType.ALERT_TRIGGERED,
        text,
        started,
        alert_rule=rule,
    )
    activity = create_incident_activity(
        session, incident, IncidentActivityType.COMMENT, comment=text, value=text
    )

    session.expire_all()
    assert (incident.title, activity.comment, activity.value) == (text, text, text)


# --- update_alert_rule_trigger_actions -------------------------------------------------

VALID_ACTIONS = (
    {"type": 2, "target_type": 0, "target_identifier": "#alerts", "integration_id": 3},
    {"type": 1, "target_type": 0, "target_identifier": "service", "priority": "info"},
    {"type": 6, "target_type": 0, "target_identifier": "team-a", "priority": "P1"},
    {"type": 7, "target_type": 0, "target_identifier": "123456"},
    {
        "type": 4,
        "target_type": 3,
        "target_identifier": "app",
        "sentry_app_id": 9,
        "sentry_app_config": {"channel": "ops"},
        "sentry_app_installation_uuid": "9b3b8c3e-5a0b-4f2e-8d5c-1c2b3a4d5e6f",
    },
)
ACTION_KEYS = sorted({key for action in VALID_ACTIONS for key in action} | {"id", "x"})


@st.composite
def action_lists(draw: st.DrawFn) -> object:
    """Lists of valid actions with up to two keys dropped or junk, or junk."""
    if draw(st.integers(0, 19)) == 0:
        return draw(anything)

    def one_action() -> dict[str, Any]:
        action = dict(draw(st.sampled_from(VALID_ACTIONS)))
        for key in draw(st.sets(st.sampled_from(ACTION_KEYS), max_size=2)):
            if draw(st.booleans()):
                action.pop(key, None)
            else:
                action[key] = draw(anything)
        return action

    return [one_action() for _ in range(draw(st.integers(0, 3)))]


def test_trigger_actions_never_fail_otherwise_nor_half_write(session: Session) -> None:
    organization = f.OrganizationFactory()
    project = f.ProjectFactory(organization=organization)
    rule = create_alert_rule(
        session, organization, [project], "r", "", "count()", 10, ABOVE, 1
    )
    trigger = create_alert_rule_trigger(session, rule, "critical", 10)
    before = count(session, AlertRuleTriggerAction)  # every example is rolled back
    seen = {"updated": 0, "refused": 0}

    @settings(PROPERTY, max_examples=300)
    @given(actions=action_lists())
    def check(actions: Any) -> None:
        savepoint = session.begin_nested()
        try:
            result = update_alert_rule_trigger_actions(session, trigger, actions)
        except ValidationError:
            seen["refused"] += 1
            assert count(session, AlertRuleTriggerAction) == before
        else:
            seen["updated"] += 1
            assert count(session, AlertRuleTriggerAction) == before + len(result)
        finally:
            savepoint.rollback()
            session.expire(trigger, ["actions"])

    check()

    assert min(seen.values()) >= 20, seen
