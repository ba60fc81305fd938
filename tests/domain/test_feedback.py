"""The feedback pipeline end to end: real PostgreSQL rows, real broker messages."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from confluent_kafka import Message
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from pytest_mockseed import factories as f
from pytest_mockseed.determinism import frozen, new_uuid_hex
from pytest_mockseed.domain import (
    OCCURRENCES_TOPIC,
    OUTCOMES_TOPIC,
    FeedbackCreationSource,
    FeedbackResult,
    ValidationError,
    create_feedback_issue,
    create_feedback_issues,
    default_spam_classifier,
)
from pytest_mockseed.models import (
    Feedback,
    FeedbackStatus,
    Organization,
    Project,
    ProjectFlags,
)
from pytest_mockseed.producer import ConfirmingProducer, Delivery, DeliveryError

#: The ``read_back`` fixture of conftest: one confirmed message, from the broker.
ReadBack = Callable[[Delivery], Message]

SCHEMA = json.loads((Path(__file__).parent / "occurrence.schema.json").read_text())
NEW = FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE
FEEDBACK_URL = "https://sentry.sentry.io/feedback/?statsPeriod=14d"
ODD_RECEIVED = "2024-4-27T22:23:29.574000+00:00"


def mock_event(project_id: int, **changes: Any) -> dict[str, Any]:
    """The scenario's mock feedback event (DOMAIN.md, step 8)."""
    event = {
        "project_id": project_id,
        "request": {
            "url": FEEDBACK_URL,
            "headers": {"User-Agent": "Mozilla/5.0 (Macintosh) Chrome/118.0.0.0"},
        },
        "event_id": new_uuid_hex(),
        "timestamp": time.time(),
        "received": ODD_RECEIVED,
        "environment": "production",
        "release": "frontend@daf1316f",
        "user": {
            "ip_address": "72.164.175.154",
            "email": "josh.ferge@sentry.io",
            "id": 880461,
            "isStaff": False,
            "name": "Josh Ferge",
        },
        "contexts": {
            "feedback": {
                "contact_email": "josh.ferge@sentry.io",
                "name": "Josh Ferge",
                "message": " test test   ",
                "replay_id": "3d621c61593c4ff9b43f8490a78ae18e",
                "url": FEEDBACK_URL,
            }
        },
        "breadcrumbs": [],
        "platform": "javascript",
    }
    event.update(changes)
    return event


def with_feedback(project_id: int, **feedback: Any) -> dict[str, Any]:
    """The mock event with its feedback context changed."""
    event = mock_event(project_id)
    event["contexts"]["feedback"].update(feedback)
    return event


def read_json(read_back: ReadBack, delivery: Delivery) -> Any:
    return json.loads(read_back(delivery).value() or b"")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def project(session: Session) -> Project:
    return f.ProjectFactory(flags=ProjectFlags.HAS_RELEASES)


@pytest.fixture
def dead_producer() -> Iterator[ConfirmingProducer]:
    with ConfirmingProducer(f"127.0.0.1:{free_port()}", delivery_timeout=1.0) as dead:
        yield dead


def feedback_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Feedback)) or 0


# --- filters (rule 31) ---------------------------------------------------------


def drop_contexts(event: dict[str, Any]) -> None:
    del event["contexts"]


def drop_feedback(event: dict[str, Any]) -> None:
    del event["contexts"]["feedback"]


def drop_message(event: dict[str, Any]) -> None:
    del event["contexts"]["feedback"]["message"]


def set_message(message: str) -> Any:
    def change(event: dict[str, Any]) -> None:
        event["contexts"]["feedback"]["message"] = message

    return change


def set_contexts(value: object) -> Any:
    def change(event: dict[str, Any]) -> None:
        event["contexts"] = value

    return change


def set_associated(value: object) -> Any:
    def change(event: dict[str, Any]) -> None:
        event["contexts"]["feedback"]["associated_event_id"] = value

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(drop_contexts, "missing_context", id="no-contexts"),
        pytest.param(set_contexts("feedback"), "missing_context", id="contexts-text"),
        pytest.param(set_contexts(["a"]), "missing_context", id="contexts-list"),
        pytest.param(drop_feedback, "missing_context", id="no-feedback"),
        pytest.param(drop_message, "missing_context", id="no-message"),
        pytest.param(set_message("Sent in the unattended mode"), "unreal.unattended"),
        pytest.param(set_message(""), "empty", id="empty"),
        pytest.param(set_message(" \t\n "), "empty", id="blank"),
        pytest.param(set_message("x" * 4097), "too_large", id="too-large"),
        pytest.param(set_associated("not-a-uuid"), "invalid_associated_event_id"),
        pytest.param(set_associated(12), "invalid_associated_event_id", id="assoc-int"),
    ],
)
def test_a_filtered_feedback_is_recorded_and_never_produced(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
    change: Any,
    reason: str,
) -> None:
    event = mock_event(project.id)
    change(event)

    result = create_feedback_issue(
        session, event, project.id, NEW, producer=mockseed_producer
    )

    assert result.filtered
    assert not result.sent
    assert result.occurrence is None
    assert result.deliveries == ()
    row = result.feedback
    assert (row.status, row.reason, row.delivered) == (
        FeedbackStatus.FILTERED,
        reason,
        False,
    )
    assert row.occurrence_id is None
    assert project.flags == ProjectFlags.HAS_RELEASES


def test_the_message_size_limit_is_a_parameter(
    session: Session, project: Project
) -> None:
    event = with_feedback(project.id, message="x" * 11)

    result = create_feedback_issue(
        session, event, project.id, NEW, producer=None, max_message_size=10
    )

    assert result.feedback.reason == "too_large"


def test_a_valid_associated_event_id_is_evidence(
    session: Session, project: Project
) -> None:
    associated = new_uuid_hex()
    event = with_feedback(project.id, associated_event_id=associated)

    result = create_feedback_issue(session, event, project.id, NEW, producer=None)

    assert result.occurrence is not None
    assert result.occurrence["evidence_data"]["associated_event_id"] == associated
    assert result.occurrence["evidence_display"][0]["name"] == "associated_event_id"


# --- the accepted path (rules 32-37, section 4) --------------------------------


def test_the_mock_feedback_is_produced_and_recorded(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
) -> None:
    event = mock_event(project.id)

    result = create_feedback_issue(
        session, event, project.id, NEW, producer=mockseed_producer
    )

    assert not result.filtered
    assert result.sent
    row = result.feedback
    assert result.occurrence is not None
    assert (row.status, row.reason, row.delivered) == (
        FeedbackStatus.ACCEPTED,
        None,
        True,
    )
    assert (row.is_spam, row.occurrence_id) == (False, result.occurrence["id"])
    assert (row.message, row.contact_email, row.name) == (
        " test test   ",
        "josh.ferge@sentry.io",
        "Josh Ferge",
    )
    assert row.event_id == event["event_id"]
    assert [d.topic for d in result.deliveries] == [OCCURRENCES_TOPIC, OUTCOMES_TOPIC]


def test_the_occurrence_on_the_broker_follows_the_contract(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
    read_back: ReadBack,
) -> None:
    event = mock_event(project.id)
    result = create_feedback_issue(
        session, event, project.id, NEW, producer=mockseed_producer
    )

    message = read_back(result.deliveries[0])
    occurrence = json.loads(message.value() or b"")

    jsonschema.validate(occurrence, SCHEMA)
    assert occurrence == result.occurrence
    fingerprint = occurrence["fingerprint"][0]
    assert message.key() == f"{fingerprint}-{project.id}".encode()
    assert message.headers() is None
    assert occurrence["project_id"] == project.id
    assert (
        occurrence["event_id"] == event["event_id"] == occurrence["event"]["event_id"]
    )
    assert occurrence["subtitle"] == " test test   "
    assert [item["name"] for item in occurrence["evidence_display"]] == [
        "contact_email",
        "message",
        "name",
        "source",
    ]
    assert occurrence["evidence_data"]["source"] == "new_feedback_envelope"
    assert occurrence["detection_time"] == pytest.approx(event["timestamp"])


def test_the_event_is_normalised_as_the_reference_does(
    session: Session, project: Project
) -> None:
    event = mock_event(project.id, tags=[["browser", "Chrome"]])
    event["contexts"]["trace"] = {"trace_id": "ab" * 16}

    result = create_feedback_issue(session, event, project.id, NEW, producer=None)

    assert result.occurrence is not None
    normalized = result.occurrence["event"]
    assert normalized["received"] == ODD_RECEIVED
    assert "release" not in normalized
    assert "breadcrumbs" not in normalized
    assert normalized["user"] == {
        "ip_address": "72.164.175.154",
        "email": "josh.ferge@sentry.io",
        "id": "880461",
    }
    assert normalized["tags"] == {
        "browser": "Chrome",
        "user.email": "josh.ferge@sentry.io",
        "trace.id": "ab" * 16,
    }
    assert normalized["contexts"]["replay"] == {
        "replay_id": "3d621c61593c4ff9b43f8490a78ae18e"
    }
    assert normalized["logentry"] == {"message": " test test   "}
    assert (normalized["level"], normalized["platform"]) == ("info", "javascript")
    assert event["user"]["name"] == "Josh Ferge", "the caller's event is untouched"


def test_normalisation_fills_the_defaults(session: Session, project: Project) -> None:
    event = {
        "contexts": {"feedback": {"message": "hi", "contact_email": "a@example.com"}},
        "timestamp": "2024-05-29T16:26:40.123+02:00",
    }

    result = create_feedback_issue(session, event, project.id, NEW, producer=None)

    assert result.occurrence is not None
    normalized = result.occurrence["event"]
    assert normalized["timestamp"] == "2024-05-29T14:26:40.123000+00:00"
    assert (normalized["platform"], normalized["level"]) == ("other", "info")
    assert (normalized["environment"], normalized["request"]) == ("production", {})
    assert normalized["user"] == {"email": "a@example.com"}
    assert normalized["tags"] == {"user.email": "a@example.com"}
    assert len(normalized["event_id"]) == 32
    assert result.feedback.event_id == normalized["event_id"]
    jsonschema.validate(result.occurrence, SCHEMA)


def test_an_event_id_with_dashes_is_stored_as_hex(
    session: Session, project: Project
) -> None:
    event = mock_event(project.id, event_id="0A9B8C7D-6E5F-4031-2233-445566778899")

    result = create_feedback_issue(session, event, project.id, NEW, producer=None)

    assert result.feedback.event_id == "0a9b8c7d6e5f40312233445566778899"


def test_the_accepted_outcome_is_tracked(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
    read_back: ReadBack,
) -> None:
    event = mock_event(project.id, timestamp=1717000000.123)
    result = create_feedback_issue(
        session, event, project.id, NEW, producer=mockseed_producer
    )

    outcome = read_json(read_back, result.deliveries[-1])

    assert outcome == {
        "timestamp": "2024-05-29T16:26:40.123000Z",
        "org_id": project.organization_id,
        "project_id": project.id,
        "key_id": None,
        "outcome": 0,
        "reason": None,
        "event_id": event["event_id"],
        "category": 14,
        "quantity": 1,
    }
    assert read_back(result.deliveries[-1]).key() is None


def test_first_feedback_flags_the_project(session: Session, project: Project) -> None:
    create_feedback_issue(
        session, mock_event(project.id), project.id, NEW, producer=None
    )

    assert project.flags == (
        ProjectFlags.HAS_RELEASES
        | ProjectFlags.HAS_FEEDBACKS
        | ProjectFlags.HAS_NEW_FEEDBACKS
    )


def test_old_style_feedback_is_not_new_feedback(
    session: Session, project: Project
) -> None:
    source = FeedbackCreationSource.USER_REPORT_ENVELOPE

    create_feedback_issue(
        session, mock_event(project.id), project.id, source, producer=None
    )

    assert ProjectFlags.HAS_FEEDBACKS in project.flags
    assert ProjectFlags.HAS_NEW_FEEDBACKS not in project.flags


def test_the_source_may_be_given_by_value(session: Session, project: Project) -> None:
    result = create_feedback_issue(
        session,
        mock_event(project.id),
        project.id,
        "crash_report_embed_form",
        producer=None,
    )

    assert result.feedback.source == FeedbackCreationSource.CRASH_REPORT_EMBED_FORM


def test_without_a_producer_nothing_is_sent(session: Session, project: Project) -> None:
    result = create_feedback_issue(
        session,
        mock_event(project.id),
        project.id,
        NEW,
        producer=None,
        has_attachment=True,
    )

    assert result.occurrence is not None
    assert not result.sent
    assert (result.feedback.status, result.feedback.delivered) == ("accepted", False)
    assert result.feedback.has_attachment


# --- spam (rule 33) --------------------------------------------------------------


def test_spam_is_flagged_and_silenced(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
    read_back: ReadBack,
) -> None:
    result = create_feedback_issue(
        session,
        mock_event(project.id),
        project.id,
        NEW,
        producer=mockseed_producer,
        spam_classifier=lambda message: "test" in message,
    )

    assert result.occurrence is not None
    assert result.feedback.is_spam is True
    assert [d.topic for d in result.deliveries] == [OCCURRENCES_TOPIC] * 2 + [
        OUTCOMES_TOPIC
    ]
    occurrence, status_change = (read_json(read_back, d) for d in result.deliveries[:2])
    jsonschema.validate(occurrence, SCHEMA)
    assert occurrence["evidence_data"]["is_spam"] is True
    assert occurrence["evidence_display"][-1] == {
        "name": "is_spam",
        "value": "True",
        "important": False,
    }
    assert status_change["payload_type"] == "status_change"
    assert (status_change["new_status"], status_change["new_substatus"]) == (2, 5)
    assert status_change["fingerprint"] == occurrence["fingerprint"]
    assert status_change["project_id"] == project.id
    assert len(status_change["id"]) == 32
    keys = {read_back(d).key() for d in result.deliveries[:2]}
    assert keys == {f"{occurrence['fingerprint'][0]}-{project.id}".encode()}


@pytest.mark.parametrize(
    ("message", "spam"),
    [
        (" test test   ", False),
        ("Great app, but the export button is broken", False),
        ("BUY NOW at our casino!!!", True),
        ("see https://a.example https://b.example https://c.example", True),
    ],
)
def test_the_default_classifier_is_simple_and_deterministic(
    message: str, spam: bool
) -> None:
    assert default_spam_classifier(message) is spam


def test_spam_checking_is_off_by_default(session: Session, project: Project) -> None:
    event = with_feedback(project.id, message="BUY NOW at our casino")

    result = create_feedback_issue(session, event, project.id, NEW, producer=None)

    assert result.feedback.is_spam is False


def test_a_failing_classifier_does_not_lose_the_feedback(
    session: Session, project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(message: str) -> bool:
        raise RuntimeError("model unavailable")

    result = create_feedback_issue(
        session,
        mock_event(project.id),
        project.id,
        NEW,
        producer=None,
        spam_classifier=broken,
    )

    assert (result.feedback.status, result.feedback.is_spam) == ("accepted", False)
    assert "spam classifier failed" in caplog.text


# --- delivery failures -------------------------------------------------------------


def test_a_dead_broker_fails_in_bounded_time_and_the_row_says_so(
    session: Session, project: Project, dead_producer: ConfirmingProducer
) -> None:
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="timeout after 1 s") as raised:
        create_feedback_issue(
            session, mock_event(project.id), project.id, NEW, producer=dead_producer
        )

    assert time.monotonic() - started < 4
    assert OCCURRENCES_TOPIC in str(raised.value)
    row = session.scalars(
        select(Feedback).where(Feedback.project_id == project.id)
    ).one()
    assert (row.status, row.delivered) == (FeedbackStatus.ACCEPTED, False)
    assert row.occurrence_id is not None
    session.expire_all()
    assert session.get_one(Feedback, row.id).delivered is False, (
        "flushed to the database"
    )


def test_a_refused_message_marks_only_its_own_row(
    session: Session, project: Project, mockseed_producer: ConfirmingProducer
) -> None:
    huge = mock_event(project.id)
    huge["contexts"]["blob"] = {"data": "x" * 2_000_000}  # above message.max.bytes
    events = [mock_event(project.id), huge, mock_event(project.id)]

    with pytest.raises(DeliveryError):
        create_feedback_issues(
            session, events, project.id, NEW, producer=mockseed_producer
        )

    rows = session.scalars(
        select(Feedback).where(Feedback.project_id == project.id).order_by(Feedback.id)
    ).all()
    assert [row.delivered for row in rows] == [True, False, True]


# --- batches -------------------------------------------------------------------------


def test_a_batch_records_every_feedback_and_waits_once(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
) -> None:
    events = [mock_event(project.id) for _ in range(300)]
    events[10]["contexts"]["feedback"]["message"] = "   "

    results = create_feedback_issues(
        session, events, project.id, NEW, producer=mockseed_producer
    )

    assert len(results) == 300
    assert [r.feedback.event_id for r in results] == [e["event_id"] for e in events]
    assert results[10].feedback.reason == "empty"
    accepted = [r for r in results if not r.filtered]
    assert len(accepted) == 299
    assert all(r.feedback.delivered and len(r.deliveries) == 2 for r in accepted)
    assert feedback_count(session) >= 300
    session.expire_all()
    stored = session.scalars(select(Feedback).where(Feedback.project_id == project.id))
    assert sorted(row.delivered for row in stored) == [False] + [True] * 299


def test_one_bad_event_refuses_the_whole_batch(
    session: Session, project: Project
) -> None:
    events = [mock_event(project.id) for _ in range(5)]
    events[3]["contexts"]["feedback"]["message"] = "nul\x00byte"
    before = feedback_count(session)

    with pytest.raises(ValidationError) as raised:
        create_feedback_issues(session, events, project.id, NEW, producer=None)

    assert raised.value.field == "events[3].contexts.feedback.message"
    assert feedback_count(session) == before


def test_a_batch_of_five_thousand_feedbacks_is_confirmed_whole(
    session: Session, project: Project, mockseed_producer: ConfirmingProducer
) -> None:
    # Its speed is a figure of ``python -m benchmarks``, not of this test.
    events = [mock_event(project.id) for _ in range(5000)]

    results = create_feedback_issues(
        session, events, project.id, NEW, producer=mockseed_producer
    )

    assert all(result.feedback.delivered for result in results)
    assert len({result.feedback.occurrence_id for result in results}) == 5000
    assert sum(len(result.deliveries) for result in results) == 10_000


def stored_feedback(session: Session, project_id: int) -> list[tuple[Any, ...]]:
    """Every column of the project's feedback rows but the ids, in id order."""
    rows = session.scalars(
        select(Feedback).where(Feedback.project_id == project_id).order_by(Feedback.id)
    )
    ids = {"id", "project_id"}
    columns = [c.key for c in Feedback.__table__.columns if c.key not in ids]
    return [tuple(getattr(row, name) for name in columns) for row in rows]


def test_a_large_batch_stores_what_one_call_per_feedback_stores(
    session: Session,
    organization: Organization,
    mockseed_producer: ConfirmingProducer,
) -> None:
    """Batches from 64 rows on are written with COPY; single calls by the ORM."""
    batched = f.ProjectFactory(organization=organization)
    single = f.ProjectFactory(organization=organization)
    anchor = datetime(2026, 1, 1, tzinfo=UTC)

    def events(project: Project) -> list[dict[str, Any]]:
        made = [mock_event(project.id, event_id=f"{n:032x}") for n in range(100)]
        made[7]["contexts"]["feedback"]["message"] = "   "  # filtered
        return made

    with frozen(anchor, seed=5):
        create_feedback_issues(
            session, events(batched), batched.id, NEW, producer=mockseed_producer
        )
    with frozen(anchor, seed=5):
        for event in events(single):
            create_feedback_issue(
                session, event, single.id, NEW, producer=mockseed_producer
            )
    session.expire_all()

    copied = stored_feedback(session, batched.id)
    assert len(copied) == 100
    assert copied == stored_feedback(session, single.id)


# --- refusals ------------------------------------------------------------------------


def test_an_unknown_project_is_refused(session: Session) -> None:
    with pytest.raises(ValidationError, match="project_id: no project"):
        create_feedback_issue(session, mock_event(1), 2**31 - 1, NEW, producer=None)


@pytest.mark.parametrize("project_id", [0, -1, 2**31, 2**40, "1", 1.0, True, None])
def test_an_impossible_project_id_is_refused(
    session: Session, project_id: object
) -> None:
    with pytest.raises(ValidationError) as raised:
        create_feedback_issue(session, mock_event(1), project_id, NEW, producer=None)  # type: ignore[arg-type]

    assert raised.value.field == "project_id"


def test_an_unknown_source_is_refused(session: Session, project: Project) -> None:
    with pytest.raises(ValidationError) as raised:
        create_feedback_issue(
            session, mock_event(project.id), project.id, "email", producer=None
        )

    assert raised.value.field == "source"


@pytest.mark.parametrize(
    "custom",
    [{"ratio": float("nan")}, {"deep": [{"limit": float("inf")}]}, {float("-inf"): 1}],
    ids=["value", "nested", "key"],
)
def test_numbers_json_cannot_carry_are_refused(
    session: Session, project: Project, custom: dict[object, object]
) -> None:
    event = mock_event(project.id)
    event["contexts"]["custom"] = custom

    with pytest.raises(ValidationError, match="NaN or infinity") as raised:
        create_feedback_issue(session, event, project.id, NEW, producer=None)

    assert raised.value.field == "event"
    assert session.scalar(select(func.count()).select_from(Feedback)) == 0


class Measure(float):
    """A float subclass, as numpy's ``float64`` is."""


def nested(levels: int) -> list[object]:
    """Lists ``levels`` deep, past orjson's limit of 254."""
    value: list[object] = []
    for _ in range(levels):
        value = [value]
    return value


SEEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        (
            {7: "int key", "share": Measure(0.25), "seen": SEEN, "pair": (1, None)},
            {
                "7": "int key",
                "share": 0.25,
                "seen": SEEN.isoformat(),
                "pair": [1, None],
            },
        ),
        (
            {"big": 2**70, "deep": nested(300)},
            {"big": 2**70, "deep": nested(300)},
        ),
    ],
    ids=["python-values", "past-orjson-limits"],
)
def test_caller_data_reaches_the_broker_as_json_writes_it(
    session: Session,
    project: Project,
    mockseed_producer: ConfirmingProducer,
    read_back: ReadBack,
    custom: dict[object, object],
    expected: dict[str, object],
) -> None:
    event = mock_event(project.id)
    event["contexts"]["custom"] = custom

    result = create_feedback_issue(
        session, event, project.id, NEW, producer=mockseed_producer
    )

    produced = json.loads(read_back(result.deliveries[0]).value() or b"")
    assert produced["event"]["contexts"]["custom"] == expected


# --- concurrency (issue 7) -----------------------------------------------------------


@pytest.fixture
def committed_project(engine: Engine) -> Iterator[int]:
    """A committed project other connections can see; removed with its feedback."""
    tag = uuid.uuid4().hex[:12]
    with Session(engine) as session:
        organization = Organization(slug=f"fb-{tag}", date_added=datetime.now(UTC))
        project = Project(
            organization=organization,
            name="Wind",
            slug=f"wind-{tag}",
            date_added=datetime.now(UTC),
        )
        session.add(project)
        session.commit()
        ids = (organization.id, project.id)

    yield ids[1]

    with Session(engine) as session:
        session.execute(delete(Feedback).where(Feedback.project_id == ids[1]))
        session.execute(delete(Project).where(Project.id == ids[1]))
        session.execute(delete(Organization).where(Organization.id == ids[0]))
        session.commit()


def test_eight_threads_get_eight_confirmed_occurrences(
    engine: Engine,
    committed_project: int,
    mockseed_producer: ConfirmingProducer,
    read_back: ReadBack,
) -> None:
    start = threading.Barrier(8)
    results: list[FeedbackResult] = []
    errors: list[BaseException] = []

    def send_feedback() -> None:
        start.wait()
        try:
            with Session(engine, expire_on_commit=False) as session:
                event = mock_event(committed_project)
                results.append(
                    create_feedback_issue(
                        session,
                        event,
                        committed_project,
                        NEW,
                        producer=mockseed_producer,
                    )
                )
                session.commit()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=send_feedback) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len({result.feedback.occurrence_id for result in results}) == 8
    for result in results:
        assert (
            read_json(read_back, result.deliveries[0])["id"]
            == result.feedback.occurrence_id
        )
    with Session(engine) as session:
        rows = session.scalars(
            select(Feedback).where(Feedback.project_id == committed_project)
        )
        assert sorted(row.delivered for row in rows) == [True] * 8
        flags = session.get_one(Project, committed_project).flags
        assert flags == ProjectFlags.HAS_FEEDBACKS | ProjectFlags.HAS_NEW_FEEDBACKS
