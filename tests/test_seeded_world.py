"""The scenario fixtures as a user meets them: counts, isolation, determinism, hooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

COUNTS = """
from sqlalchemy import func, select
from pytest_mockseed.models import (
    AlertRule, Event, Feedback, Incident, IncidentActivity, Project,
)


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_world_a_new_user_gets(seeded_org, mockseed_kafka):
    session = seeded_org.session
    assert [p.name for p in seeded_org.projects] == [
        "Ludic Science", "Earth", "Fire", "Wind", "Water", "Heart"]
    assert count(session, Project) == 6
    assert count(session, Event, Event.type == "error") == 300
    assert count(session, Event, Event.type == "transaction") == 9
    assert count(session, AlertRule) == 6
    assert sorted(session.scalars(select(Incident.identifier))) == [1, 2, 3, 4, 5, 6]
    assert count(session, IncidentActivity) == 12
    feedback = session.scalars(select(Feedback)).one()
    assert feedback.status == "accepted" and feedback.delivered
    occurrences = mockseed_kafka.messages("ingest-occurrences")
    assert len(occurrences) == 1
    assert occurrences[0].key.decode().endswith(f"-{seeded_org.project('Wind').id}")
    assert seeded_org.owner.is_superuser and seeded_org.user.username == "dummy@example.com"
    assert [t.name for t in seeded_org.teams] == ["Massive Dynamic", "Captain Planet"]
"""


def test_a_new_users_test_finds_the_promised_world(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(COUNTS)

    result = pytester.runpytest_subprocess(
        "-p", "pytest_mockseed", "--mockseed-events=50"
    )

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["mockseed: seed=1337 events=50*"])


ISOLATION = """
import pytest
from sqlalchemy import create_engine, delete, func, select, text
from pytest_mockseed.models import Event, Project, Team


def events(session):
    return session.scalar(select(func.count()).select_from(Event))


@pytest.mark.parametrize("run", [1, 2])
def test_writes_and_commits_vanish(seeded_org, run):
    session = seeded_org.session
    assert events(session) == 63
    assert session.scalar(select(func.count()).select_from(Team)) == 2
    session.execute(delete(Event))
    session.add(Team(organization_id=seeded_org.organization.id, name="New",
                     slug="new", date_added=seeded_org.organization.date_added))
    seeded_org.projects[0].name = "Renamed"
    session.commit()
    assert events(session) == 0


@pytest.mark.mockseed(isolation="database")
@pytest.mark.parametrize("run", [1, 2])
def test_own_database_commits_are_visible_and_vanish(seeded_org, run):
    session = seeded_org.session
    assert events(session) == 63
    session.execute(delete(Event))
    session.commit()
    other = create_engine(session.get_bind().url)
    with other.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM events")) == 0
    other.dispose()


def test_after_all_that_the_world_is_whole(seeded_org):
    assert events(seeded_org.session) == 63
    assert seeded_org.projects[0].name == "Ludic Science"
"""


def test_tests_never_see_each_others_writes(
    pytester: pytest.Pytester, shared_services: list[str]
) -> None:
    pytester.makepyfile(ISOLATION)

    result = pytester.runpytest_subprocess(*shared_services, "-p", "no:randomly")

    result.assert_outcomes(passed=5)


def test_isolation_holds_under_xdist(
    pytester: pytest.Pytester, shared_services: list[str]
) -> None:
    pytester.makepyfile(ISOLATION)

    result = pytester.runpytest_subprocess(*shared_services, "-n", "2")

    result.assert_outcomes(passed=5)


def test_an_unknown_isolation_is_named(
    pytester: pytest.Pytester, shared_services: list[str]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mockseed(isolation="schema")
        def test_it(seeded_org):
            pass
        """
    )

    result = pytester.runpytest_subprocess(*shared_services)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*isolation='schema'*expected 'transaction'*"])


DUMP = """
import json, os
from pytest_mockseed.models import metadata


def test_dump(seeded_org):
    session = seeded_org.session
    dump = {}
    for table in metadata.sorted_tables:
        rows = session.execute(table.select().order_by(*table.primary_key.columns))
        dump[table.name] = [[str(v) for v in row] for row in rows]
    with open(os.environ["DUMP_PATH"], "w") as out:
        json.dump(dump, out)
"""


def _dump(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, path: Path, *args: str
) -> dict[str, list[list[str]]]:
    monkeypatch.setenv("DUMP_PATH", str(path))
    result = pytester.runpytest_subprocess(
        "--mockseed-anchor=2026-06-01T12:00:00+00:00", *args
    )
    result.assert_outcomes(passed=1)
    loaded: dict[str, list[list[str]]] = json.loads(path.read_text())
    return loaded


def test_the_same_seed_gives_the_same_rows_and_another_differs(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    shared_services: list[str],
    tmp_path: Path,
) -> None:
    pytester.makepyfile(DUMP)

    first = _dump(pytester, monkeypatch, tmp_path / "a.json", *shared_services)
    second = _dump(pytester, monkeypatch, tmp_path / "b.json", *shared_services)
    other = _dump(
        pytester,
        monkeypatch,
        tmp_path / "c.json",
        *shared_services,
        "--mockseed-seed=99",
    )

    assert sum(len(rows) for rows in first.values()) > 100
    assert first == second
    assert first["events"] != other["events"]
    assert first["projects"] == other["projects"]


def test_a_conftest_hook_adds_rows_once_for_every_test(
    pytester: pytest.Pytester, shared_services: list[str]
) -> None:
    pytester.makeconftest(
        """
        from pytest_mockseed.models import Team

        CALLS = []

        def pytest_mockseed_seed(world, session):
            CALLS.append(world.seed)
            session.add(Team(organization_id=world.organization_id, name="Hooked",
                             slug="hooked", date_added=world.anchor))
        """
    )
    pytester.makepyfile(
        """
        import pytest
        from sqlalchemy import select
        from pytest_mockseed.models import Team
        from conftest import CALLS

        @pytest.mark.parametrize("run", range(3))
        def test_sees_the_hooked_team(seeded_org, run):
            names = seeded_org.session.scalars(select(Team.name)).all()
            assert "Hooked" in names
            assert CALLS == [seeded_org.seed]
        """
    )

    result = pytester.runpytest_subprocess(*shared_services)

    result.assert_outcomes(passed=3)


def test_alert_rule_feedback_and_factories_through_the_fixtures(
    pytester: pytest.Pytester, shared_services: list[str]
) -> None:
    pytester.makepyfile(
        """
        from sqlalchemy import select
        from pytest_mockseed.factories import UserFactory
        from pytest_mockseed.models import IncidentStatus, User


        def test_metric_alert_rule(metric_alert_rule, seeded_org):
            assert metric_alert_rule.name == "My Alert Rule"
            assert metric_alert_rule.projects == [seeded_org.projects[0]]
            assert metric_alert_rule.time_window == 600
            assert [(t.label, t.alert_threshold) for t in metric_alert_rule.triggers] == [
                ("critical", 10)]
            [incident] = metric_alert_rule.incidents
            assert (incident.title, incident.identifier) == ("My Incident", 1)
            assert incident.status == IncidentStatus.OPEN


        def test_mock_feedback(mock_feedback, seeded_org):
            wind = seeded_org.project("Wind")
            assert mock_feedback.feedback.project_id == wind.id
            assert mock_feedback.message.topic == "ingest-occurrences"
            assert mock_feedback.message.value == mock_feedback.occurrence
            fingerprint = mock_feedback.occurrence["fingerprint"][0]
            assert mock_feedback.message.key == f"{fingerprint}-{wind.id}"
            assert mock_feedback.occurrence["subtitle"] == " test test   "


        def test_factories_write_into_the_test_session(seeded_org):
            user = UserFactory()
            found = seeded_org.session.scalars(select(User).where(User.id == user.id))
            assert found.one() is user
        """
    )

    result = pytester.runpytest_subprocess(*shared_services)

    result.assert_outcomes(passed=3)


LATE_IMPORT = """
import os
import sys


def test_a_test_without_factories_does_not_load_factory_boy(seeded_org):
    assert "factory" not in sys.modules


def test_factories_imported_in_the_test(seeded_org):
    from pytest_mockseed.factories import UserFactory

    with open(os.environ["FACTORY_EMAILS"], "a") as out:
        out.write(UserFactory().email + "\\n")
"""

EARLY_IMPORT = """
import os

from pytest_mockseed.factories import UserFactory


def test_factories_imported_by_the_module(seeded_org):
    with open(os.environ["FACTORY_EMAILS"], "a") as out:
        out.write(UserFactory().email + "\\n")
"""


def test_factories_draw_the_same_values_wherever_they_are_imported(
    pytester: pytest.Pytester,
    shared_services: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emails = tmp_path / "emails"
    monkeypatch.setenv("FACTORY_EMAILS", str(emails))
    late = pytester.makepyfile(test_late=LATE_IMPORT)
    early = pytester.makepyfile(test_early=EARLY_IMPORT)

    pytester.runpytest_subprocess(*shared_services, late).assert_outcomes(passed=2)
    pytester.runpytest_subprocess(*shared_services, early).assert_outcomes(passed=1)

    late_email, early_email = emails.read_text().split()
    assert late_email == early_email


def test_every_fixture_is_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures")

    for name, words in [
        ("seeded_org", "The seeded organization"),
        ("metric_alert_rule", "My Alert Rule"),
        ("mock_feedback", "A fresh feedback on Wind"),
        ("mockseed_db_session", "isolated from others"),
        ("mockseed_postgres", "PostgreSQL server"),
        ("mockseed_kafka", "Kafka-protocol broker"),
        ("mockseed_producer", "waits for every confirmation"),
        ("mockseed_world", "Primary keys"),
    ]:
        result.stdout.fnmatch_lines([f"{name}*", f"*{words}*"])


FLAGS = """
import os
from sqlalchemy import func, select
from pytest_mockseed.models import AlertRule, Event, Feedback, Incident, Monitor, Project


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_world(seeded_org):
    session = seeded_org.session
    expected = [int(n) for n in os.environ["EXPECTED"].split(",")]
    assert [
        count(session, Event, Event.type == "error"),
        count(session, AlertRule),
        count(session, Incident),
        count(session, Monitor),
    ] == expected
    assert count(session, Project) == 6
    assert count(session, Event, Event.type == "transaction") == 9
    assert count(session, Feedback) == 1


def test_metric_alert_rule(metric_alert_rule):
    assert metric_alert_rule.name == "My Alert Rule"
"""


@pytest.mark.parametrize(
    ("flag", "expected", "outcomes"),
    [
        # No per-project setup: no events, rules, incidents or monitors; the
        # feedback and the trace still come, and asking for the rule errors.
        ("--mockseed-skip-default-setup", "0,0,0,0", {"passed": 1, "errors": 1}),
        # 45 more error events in each of the six projects.
        ("--mockseed-extra-events", f"{6 * (2 + 45)},6,6,6", {"passed": 2}),
    ],
)
def test_the_scenario_flags_shape_the_world(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    shared_services: list[str],
    flag: str,
    expected: str,
    outcomes: dict[str, int],
) -> None:
    pytester.makepyfile(FLAGS)
    monkeypatch.setenv("EXPECTED", expected)

    result = pytester.runpytest_subprocess(
        *shared_services, "--mockseed-events=2", flag
    )

    result.assert_outcomes(**outcomes)
    if "errors" in outcomes:
        result.stdout.fnmatch_lines(
            ["*this run seeded no alert rule*skip-default-setup*"]
        )


def test_xdist_workers_seed_with_the_controllers_random_seed(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    shared_services: list[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SEEDS_DIR", str(tmp_path))
    pytester.makepyfile(
        """
        import os, pytest

        @pytest.mark.parametrize("n", range(4))
        def test_records_seed(seeded_org, n):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            path = os.path.join(os.environ["SEEDS_DIR"], worker)
            with open(path, "a") as out:
                out.write(f"{seeded_org.seed} {seeded_org.world.anchor.isoformat()}\\n")
        """
    )

    result = pytester.runpytest_subprocess(
        *shared_services, "-n", "2", "--mockseed-seed=random"
    )

    result.assert_outcomes(passed=4)
    header = next(
        line for line in result.outlines if line.startswith("mockseed: seed=")
    )
    seed = header.split()[1].removeprefix("seed=")
    recorded = {
        line for path in tmp_path.iterdir() for line in path.read_text().splitlines()
    }
    assert len(list(tmp_path.iterdir())) == 2
    assert len(recorded) == 1
    assert recorded.pop().split()[0] == seed
