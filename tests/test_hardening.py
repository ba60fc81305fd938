"""Faults, load and leftovers: the plugin broken on purpose (issue 7).

Each fault test runs pytest in a subprocess that owns its servers
(``--mockseed-services=local``), breaks something in the middle of the run,
and then checks what a user relies on: a clear message, a run that ends
(pytester's ``timeout=`` turns a hang into a failure), and no process or
temporary directory left behind. Hostile input and concurrent incident
creation are covered in ``tests/domain``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from pytest_mockseed.services import local_postgres, stale
from pytest_mockseed.services.handles import PostgresHandle
from pytest_mockseed.services.postgres import libpq_url
from tests.conftest import databases_like, processes_under

LOCAL = "--mockseed-services=local"
#: Generous bound on one inner run; reaching it means something hung.
RUN_TIMEOUT = 180


def _leftovers(inner_tmp: Path, wait: float = 15.0) -> tuple[list[Path], list[int]]:
    """What an inner run left in its TMPDIR, after giving servers time to exit.

    Backends of a killed postmaster notice its death on their own, a moment
    later, so this waits up to ``wait`` seconds for everything to go.
    """
    deadline = time.monotonic() + wait
    while True:
        dirs = sorted(inner_tmp.iterdir())
        pids = [process.pid for process in processes_under(inner_tmp)]
        if (not dirs and not pids) or time.monotonic() > deadline:
            return dirs, pids
        time.sleep(0.1)


# -- 1. the broker dies in the middle of a run --------------------------------

BROKER_DIES = """
import time

import psutil
import pytest
from sqlalchemy import select

from pytest_mockseed.domain import FeedbackCreationSource, create_feedback_issue
from pytest_mockseed.models import Feedback
from pytest_mockseed.producer import DeliveryError
from pytest_mockseed.scenario import mock_feedback_event


def test_kill_the_broker(mockseed_world, mockseed_kafka):
    (tansu,) = [p for p in psutil.Process().children() if p.name() == "tansu"]
    tansu.kill()
    tansu.wait(10)


def test_feedback_fails_in_bounded_time(seeded_org, mockseed_producer):
    wind = seeded_org.project("Wind").id
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        create_feedback_issue(
            seeded_org.session, mock_feedback_event(wind), wind,
            FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE, producer=mockseed_producer,
        )
    waited = time.monotonic() - started

    assert waited < 2 + 10, waited
    assert "Kafka did not confirm" in str(caught.value)
    assert "timeout after 2 s" in str(caught.value)
    row = seeded_org.session.scalars(select(Feedback).order_by(Feedback.id.desc())).first()
    assert row.status == "accepted"
    assert row.delivered is False


def test_mock_feedback_after_the_broker_died(mock_feedback):
    raise AssertionError("mock_feedback cannot succeed without a broker")
"""


def test_a_dead_broker_fails_feedback_clearly_and_leaves_nothing(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(BROKER_DIES)

    result = pytester.runpytest_subprocess(
        LOCAL, "--mockseed-delivery-timeout=2", timeout=RUN_TIMEOUT
    )

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E *DeliveryError: Kafka did not confirm * to topic * at 127.0.0.1:*: "
            "timeout after 2 s*",
        ]
    )
    assert _leftovers(inner_tmp) == ([], [])


# -- 2. PostgreSQL dies in the middle of a run --------------------------------

POSTGRES_DIES = """
import psutil


def test_kill_postgres(mockseed_postgres, mockseed_kafka):
    (postmaster,) = [p for p in psutil.Process().children() if p.name() == "postgres"]
    postmaster.kill()
    postmaster.wait(10)


def test_needs_the_database(seeded_org):
    raise AssertionError("seeded_org cannot exist without PostgreSQL")


def test_needs_it_too(mockseed_db_session):
    raise AssertionError("mockseed_db_session cannot exist without PostgreSQL")


def test_the_broker_still_works(mockseed_kafka, mockseed_producer):
    mockseed_producer.send("still-here", b"yes")
    assert [m.value for m in mockseed_kafka.messages("still-here", timeout=10)] == [b"yes"]
"""


def test_a_dead_postgres_errors_clearly_and_teardown_still_cleans(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(POSTGRES_DIES)

    result = pytester.runpytest_subprocess(LOCAL, timeout=RUN_TIMEOUT)

    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_needs_the_database*",
            "PostgreSQL at postgresql+psycopg://postgres@127.0.0.1:* stopped answering: *",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "OperationalError" not in result.stdout.str()
    assert _leftovers(inner_tmp) == ([], [])


# -- 3. Ctrl-C during start-up and during seeding ----------------------------
# Ctrl-C during a test is tested in test_services.py; here the interrupt
# lands while servers start or the template is seeded, and a second run
# must then start clean.

INTERRUPTED = """
import time


def test_waits(seeded_org):
    time.sleep(120)
"""

AFTERWARDS = """
def test_starts_clean(seeded_org, mockseed_kafka):
    assert len(seeded_org.projects) == 6
"""


def _starting(run: subprocess.Popen[bytes], inner_tmp: Path) -> bool:
    """PostgreSQL's data directory exists: initdb has begun."""
    return any(path.name.startswith("mockseed-pg-") for path in inner_tmp.iterdir())


def _seeding(run: subprocess.Popen[bytes], inner_tmp: Path) -> bool:
    """A backend of the run's postmaster works in a ``mockseed_`` database."""
    try:
        children = psutil.Process(run.pid).children()
    except psutil.Error:
        return False
    for child in children:
        try:  # initdb and other short-lived children may be gone already
            backends = child.children()
            if any("mockseed_" in " ".join(b.cmdline()) for b in backends):
                return True
        except psutil.Error:
            continue
    return False


Moment = Callable[[subprocess.Popen[bytes], Path], bool]


@pytest.mark.parametrize(
    ("moment", "events"),
    [(_starting, "9"), (_seeding, "20000")],
    ids=["start-up", "seeding"],
)
def test_ctrl_c_leaves_nothing_and_the_next_run_starts_clean(
    pytester: pytest.Pytester, inner_tmp: Path, moment: Moment, events: str
) -> None:
    pytester.makepyfile(test_interrupted=INTERRUPTED, test_afterwards=AFTERWARDS)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            LOCAL,
            f"--mockseed-events={events}",
            "-p",
            "no:cacheprovider",
            "test_interrupted.py",
        ],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(lambda: moment(run, inner_tmp), run)
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()

    assert b"KeyboardInterrupt" in output, output.decode(errors="replace")
    assert _leftovers(inner_tmp) == ([], [])
    after = pytester.runpytest_subprocess(
        LOCAL, "test_afterwards.py", timeout=RUN_TIMEOUT
    )
    after.assert_outcomes(passed=1)
    assert _leftovers(inner_tmp) == ([], [])


def _wait_for(condition: Callable[[], bool], run: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert run.poll() is None, run.stdout.read() if run.stdout else b""
        assert time.monotonic() < deadline, "the inner run never reached the moment"
        time.sleep(0.01)


# -- 4. an xdist worker killed with SIGKILL -----------------------------------

WORKER_DIES = """
import os

import pytest


@pytest.mark.parametrize("n", range(6))
def test_uses_the_services(mockseed_postgres, mockseed_kafka, n):
    assert mockseed_kafka.backend == "tansu"


def test_worker_dies(mockseed_postgres, mockseed_kafka):
    os.kill(os.getpid(), 9)
"""


def test_a_killed_xdist_worker_leaves_nothing_by_the_end(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(WORKER_DIES)

    result = pytester.runpytest_subprocess("-n", "2", LOCAL, timeout=RUN_TIMEOUT)

    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        ["*worker 'gw*' crashed while running*test_worker_dies*"]
    )
    assert _leftovers(inner_tmp) == ([], [])


# -- 5. load: 300 isolated tests under -n 2 -----------------------------------

LOAD = """
import pytest
from sqlalchemy import delete, func, select

from pytest_mockseed.models import Event, Project, Team


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("n", range(300))
def test_sees_the_seeded_world_then_writes(seeded_org, n):
    session = seeded_org.session
    assert count(session, Project) == 6
    assert count(session, Team) == 2
    assert count(session, Event) == 63
    session.execute(delete(Event))
    session.add(Team(organization_id=seeded_org.organization.id, name=f"T{n}",
                     slug=f"t{n}", date_added=seeded_org.organization.date_added))
    session.commit()
    assert count(session, Event) == 0
    assert count(session, Team) == 3
"""


def test_300_seeded_tests_under_two_workers_stay_isolated(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(LOAD)

    result = pytester.runpytest_subprocess("-n", "2", LOCAL, timeout=RUN_TIMEOUT)

    result.assert_outcomes(passed=300)
    assert _leftovers(inner_tmp) == ([], [])


# -- 6. load: 10,000 feedback calls in one test -------------------------------

TEN_THOUSAND = """
import json

from sqlalchemy import func, select

from pytest_mockseed.domain import FeedbackCreationSource, create_feedback_issues
from pytest_mockseed.models import Feedback
from pytest_mockseed.scenario import mock_feedback_event

CALLS, BATCH = 10_000, 1_000


def test_ten_thousand_feedback_calls(seeded_org, mockseed_producer, mockseed_kafka):
    wind = seeded_org.project("Wind").id
    ours = set()
    for _ in range(CALLS // BATCH):
        results = create_feedback_issues(
            seeded_org.session, [mock_feedback_event(wind) for _ in range(BATCH)], wind,
            FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE, producer=mockseed_producer,
        )
        assert all(result.sent and not result.filtered for result in results)
        ours |= {result.occurrence["id"] for result in results}

    messages = mockseed_kafka.messages("ingest-occurrences", timeout=60)
    on_the_broker = [json.loads(m.value) for m in messages]
    mine = [v["id"] for v in on_the_broker if v.get("project_id") == wind and v["id"] in ours]
    accepted = seeded_org.session.scalar(
        select(func.count()).select_from(Feedback)
        .where(Feedback.status == "accepted", Feedback.occurrence_id.in_(ours))
    )
    print(f"\\nmessages on ingest-occurrences: {len(messages)}, ours: {len(mine)}, "
          f"accepted rows: {accepted}")
    assert len(ours) == CALLS
    assert len(mine) == CALLS
    assert len(set(mine)) == CALLS
    assert accepted == CALLS
"""


def test_ten_thousand_feedback_calls_are_all_confirmed_once(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(TEN_THOUSAND)

    result = pytester.runpytest_subprocess(LOCAL, "-s", timeout=RUN_TIMEOUT)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ours: 10000, accepted rows: 10000*"])
    assert _leftovers(inner_tmp) == ([], [])


# -- the stale-directory sweep, directly --------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _stale_dir(tmp: Path, prefix: str, owner: str) -> Path:
    path = tmp / f"{prefix}test"
    path.mkdir()
    (path / stale.OWNER_FILE).write_text(owner)
    return path


def test_sweep_removes_only_directories_of_dead_runs(tmp_path: Path) -> None:
    dead = _stale_dir(tmp_path, "mockseed-pg-", str(_dead_pid()))
    recycled = _stale_dir(tmp_path, "mockseed-tansu-", f"{os.getpid()} 1")
    alive = tmp_path / "mockseed-tansu-alive"
    alive.mkdir()
    stale.write_owner(alive)
    unowned = tmp_path / "mockseed-pg-unowned"
    unowned.mkdir()
    not_ours = _stale_dir(tmp_path, "other-", str(_dead_pid()))

    removed = stale.sweep_stale(tmp_path)

    assert sorted(removed) == sorted([dead, recycled])
    assert sorted(tmp_path.iterdir()) == sorted([alive, unowned, not_ours])


def test_sweep_stops_a_process_left_running_in_a_stale_directory(
    tmp_path: Path,
) -> None:
    path = _stale_dir(tmp_path, "mockseed-tansu-", str(_dead_pid()))
    orphan = subprocess.Popen(["sleep", "60"], cwd=path)

    assert stale.sweep_stale(tmp_path) == [path]

    assert orphan.wait(timeout=10) == -signal.SIGKILL


def test_sweep_stops_a_postmaster_whose_run_died(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bin_dir, _checked = local_postgres.find_bin_dir(None)
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries here")
    # A directory of its own, that PostgreSQL's account can reach.
    base = Path(tempfile.mkdtemp(prefix="sweep-"))
    base.chmod(0o777)
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    server = local_postgres.LocalPostgres(bin_dir)
    try:
        server.start()
        assert server.process is not None
        (server.root / stale.OWNER_FILE).write_text(str(_dead_pid()))

        removed = stale.sweep_stale(base)

        assert removed == [server.root]
        assert server.process.wait(timeout=10) is not None
        assert processes_under(server.root) == []
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_databases_of_a_killed_run_are_removed_by_the_next(
    pytester: pytest.Pytester,
    shared_services: list[str],
    mockseed_postgres: PostgresHandle,
) -> None:
    admin = libpq_url(mockseed_postgres.url)
    before = databases_like(admin)
    pytester.makepyfile(
        """
        import os, pytest

        @pytest.mark.mockseed(isolation="database")
        def test_killed(seeded_org):
            os.kill(os.getpid(), 9)
        """
    )
    killed = pytester.runpytest_subprocess(*shared_services, timeout=RUN_TIMEOUT)
    left = databases_like(admin) - before
    pytester.makepyfile("def test_killed(seeded_org):\n    pass\n")

    following = pytester.runpytest_subprocess(*shared_services, timeout=RUN_TIMEOUT)

    assert killed.ret not in (0, 1)
    assert len(left) == 3  # the template, the working clone, the test's own clone
    following.assert_outcomes(passed=1)
    assert databases_like(admin) == before
