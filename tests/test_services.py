"""The services a run gets: real PostgreSQL and Kafka, started and stopped.

Every test here runs pytest in a subprocess, as a user would, because the
services are process state: children, ports and temporary directories.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle
from pytest_mockseed.services.postgres import libpq_url
from tests.conftest import interrupted_run, processes_under

ROUND_TRIP = """
import uuid

import psycopg
from confluent_kafka import Producer


def test_sql(mockseed_postgres):
    url = mockseed_postgres.url.replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
        assert conn.execute("SELECT body FROM notes").fetchall() == [("hello",)]


def test_produce_then_read(mockseed_kafka):
    topic = f"notes-{uuid.uuid4().hex}"  # tests of other files share the broker
    producer = Producer({"bootstrap.servers": mockseed_kafka.bootstrap_servers})
    for n in range(3):
        producer.produce(topic, value=f"v{n}".encode(), key=b"k", headers={"h": b"1"})
    assert producer.flush(10) == 0

    messages = mockseed_kafka.messages(topic, timeout=10)

    assert sorted(m.value for m in messages) == [b"v0", b"v1", b"v2"]
    assert {m.key for m in messages} == {b"k"}
    assert all(m.headers == (("h", b"1"),) for m in messages)
    assert mockseed_kafka.messages("never-written", timeout=0.5) == []


def test_handles(mockseed_postgres, mockseed_kafka):
    assert mockseed_postgres.backend == "local"
    assert mockseed_postgres.version.startswith("1")
    assert mockseed_kafka.backend == "tansu"
"""


def test_local_rungs_give_real_sql_and_a_round_trip(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(ROUND_TRIP)

    result = pytester.runpytest_subprocess("--mockseed-services=local")

    result.assert_outcomes(passed=3)
    result.stdout.re_match_lines(
        [
            r"mockseed: seed=1337 events=9, services=local \(from cli\)",
            r"mockseed: postgres=local 1\d\.\d+ 127\.0\.0\.1:\d+ .*, "
            r"kafka=tansu \d+\.\d+\.\d+ 127\.0\.0\.1:\d+.*",
        ]
    )
    assert list(inner_tmp.iterdir()) == []
    assert processes_under(inner_tmp) == []


def test_services_given_by_url_are_used_and_left_running(
    pytester: pytest.Pytester, shared_services: list[str], inner_tmp: Path
) -> None:
    pytester.makepyfile(
        ROUND_TRIP.replace('"local"', '"url"').replace('"tansu"', '"url"')
    )

    result = pytester.runpytest_subprocess(*shared_services)

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["mockseed: postgres=url *, kafka=url *"])
    assert list(inner_tmp.iterdir()) == []


def test_nothing_is_left_after_a_failing_run(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(
        """
        def test_fails(mockseed_postgres, mockseed_kafka):
            assert False, "on purpose"
        """
    )

    result = pytester.runpytest_subprocess("--mockseed-services=local")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*reproduce with: pytest *--mockseed-seed=1337*"])
    assert list(inner_tmp.iterdir()) == []
    assert processes_under(inner_tmp) == []


def test_nothing_is_left_after_ctrl_c(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    output = interrupted_run(pytester, "--mockseed-services=local")

    assert b"KeyboardInterrupt" in output
    assert list(inner_tmp.iterdir()) == []
    assert processes_under(inner_tmp) == []


def test_each_xdist_worker_gets_working_services(
    pytester: pytest.Pytester, inner_tmp: Path
) -> None:
    pytester.makepyfile(ROUND_TRIP.replace("test_sql", "test_sql_a"))
    pytester.makepyfile(test_more=ROUND_TRIP.replace("test_sql", "test_sql_b"))

    result = pytester.runpytest_subprocess("-n", "2", "--mockseed-services=local")

    result.assert_outcomes(passed=6)
    assert list(inner_tmp.iterdir()) == []
    assert processes_under(inner_tmp) == []


def test_a_run_inside_this_one_leaves_this_runs_servers_alone(
    pytester: pytest.Pytester,
    mockseed_postgres: PostgresHandle,
    mockseed_kafka: KafkaHandle,
) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")

    pytester.runpytest().assert_outcomes(passed=1)  # in this process, as pytester can

    with psycopg.connect(libpq_url(mockseed_postgres.url)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert mockseed_kafka.messages("nothing-here", timeout=0.5) == []
