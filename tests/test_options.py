"""Every option from the command line and from ini, and how the plugin loads.

The inner runs here request no service, so they only resolve settings and
print the header: they run in-process, which is fast.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PASSING_TEST = "def test_nothing():\n    pass\n"

# (option, value on the command line, value in ini, what the header shows)
OPTION_CASES = [
    (
        "db_url",
        "postgresql://ann:s3cret@127.0.0.1:1/x",
        None,
        "db_url=postgresql://ann:***@127.0.0.1:1/x",
    ),
    ("kafka_bootstrap", "127.0.0.1:1", None, "kafka_bootstrap=127.0.0.1:1"),
    ("services", "local", None, "services=local"),
    ("pg_bin", "/opt/pg/bin", None, "pg_bin=/opt/pg/bin"),
    ("tansu_bin", "/opt/tansu", None, "tansu_bin=/opt/tansu"),
    ("pg_image", "postgres:15-local", None, "pg_image=postgres:15-local"),
    ("kafka_image", "tansu:0.6.0-local", None, "kafka_image=tansu:0.6.0-local"),
    ("events", "50", None, "events=50"),
    ("seed", "7", None, "seed=7"),
    ("anchor", "2026-01-01T00:00:00+00:00", None, "anchor=2026-01-01T00:00:00+00:00"),
    ("skip_default_setup", None, "true", "skip_default_setup=True"),
    ("extra_events", None, "true", "extra_events=True"),
    ("delivery_timeout", "2.5", None, "delivery_timeout=2.5"),
    ("reuse", None, "true", "reuse=True"),
    ("recreate", None, "true", "recreate=True"),
]


def _flag(name: str) -> str:
    return "--mockseed-" + name.replace("_", "-")


@pytest.mark.parametrize(
    ("name", "value", "ini_value", "shown"),
    OPTION_CASES,
    ids=[c[0] for c in OPTION_CASES],
)
def test_option_from_the_command_line(
    pytester: pytest.Pytester,
    name: str,
    value: str | None,
    ini_value: str | None,
    shown: str,
) -> None:
    pytester.makepyfile(PASSING_TEST)
    arg = _flag(name) if value is None else f"{_flag(name)}={value}"

    result = pytester.runpytest(arg)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"mockseed: *{shown} (from cli)*"])
    assert "s3cret" not in result.stdout.str()


@pytest.mark.parametrize(
    ("name", "value", "ini_value", "shown"),
    OPTION_CASES,
    ids=[c[0] for c in OPTION_CASES],
)
def test_option_from_ini(
    pytester: pytest.Pytester,
    name: str,
    value: str | None,
    ini_value: str | None,
    shown: str,
) -> None:
    pytester.makepyfile(PASSING_TEST)
    pytester.makeini(f"[pytest]\nmockseed_{name} = {ini_value or value}\n")

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"mockseed: *{shown} (from ini)*"])
    assert "s3cret" not in result.stdout.str()


def test_command_line_beats_ini_beats_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(PASSING_TEST)
    monkeypatch.setenv("MOCKSEED_KAFKA_BOOTSTRAP", "10.0.0.1:3")
    monkeypatch.setenv("MOCKSEED_SERVICES", "docker")
    monkeypatch.setenv("MOCKSEED_PG_BIN", "/from/env")
    pytester.makeini(
        "[pytest]\nmockseed_services = local\nmockseed_pg_bin = /from/ini\n"
    )

    result = pytester.runpytest("--mockseed-pg-bin=/from/cli")

    result.stdout.fnmatch_lines(
        [
            "mockseed: *kafka_bootstrap=10.0.0.1:3 (from env)*services=local (from ini)*"
            "pg_bin=/from/cli (from cli)*"
        ]
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--mockseed-events=-1"], "--mockseed-events"),
        (["--mockseed-events=ten"], "--mockseed-events"),
        (["--mockseed-seed=x"], "--mockseed-seed"),
        (["--mockseed-services=cloud"], "--mockseed-services"),
        (["--mockseed-db-url=mysql://a:hunter2@h/db"], "--mockseed-db-url"),
        (["--mockseed-kafka-bootstrap=nohost"], "--mockseed-kafka-bootstrap"),
        (["--mockseed-delivery-timeout=0"], "--mockseed-delivery-timeout"),
        (["--mockseed-anchor=2026-01-01"], "--mockseed-anchor"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, args: list[str], named: str
) -> None:
    pytester.makepyfile(PASSING_TEST)

    result = pytester.runpytest(*args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{named}*expected*"])
    assert "hunter2" not in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    ("ini", "named"),
    [
        ("mockseed_events = -3", "ini key mockseed_events"),
        ("mockseed_services = cloud", "ini key mockseed_services"),
        ("mockseed_seed = soon", "ini key mockseed_seed"),
    ],
)
def test_a_bad_ini_value_is_a_usage_error_naming_the_key(
    pytester: pytest.Pytester, ini: str, named: str
) -> None:
    pytester.makepyfile(PASSING_TEST)
    pytester.makeini(f"[pytest]\n{ini}\n")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{named}: expected*"])


def test_a_bad_environment_value_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(PASSING_TEST)
    monkeypatch.setenv("MOCKSEED_DB_URL", "http://user:pw@host/")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*MOCKSEED_DB_URL: expected a postgresql:// URL*"])
    assert ":pw@" not in result.stderr.str()


def test_seed_random_then_last_replays_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING_TEST)

    first = pytester.runpytest("--mockseed-seed=random")
    seed_line = next(
        line for line in first.outlines if line.startswith("mockseed: seed=")
    )
    seed = seed_line.split()[1]
    second = pytester.runpytest("--mockseed-seed=last")

    assert seed != "seed=1337"
    second.stdout.fnmatch_lines([f"mockseed: {seed} *"])


def test_seed_last_without_a_previous_run_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING_TEST)

    result = pytester.runpytest("--mockseed-seed=last", "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mockseed-seed=last: no previous seed*"])


def test_loads_by_entry_point_and_by_dash_p(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING_TEST)

    result = pytester.runpytest_subprocess("-p", "pytest_mockseed")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["mockseed: seed=1337 events=9"])
    assert "already registered" not in result.stderr.str()


def test_dash_p_works_with_autoload_disabled(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_it(mockseed_postgres):\n    pass\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    result = pytester.runpytest_subprocess("-p", "pytest_mockseed", "--collect-only")

    result.stdout.fnmatch_lines(["mockseed: seed=1337 events=9", "*1 test collected*"])


def test_dash_p_no_switches_it_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(mockseed_postgres):\n    pass\n")

    result = pytester.runpytest_subprocess("-p", "no:pytest_mockseed")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'mockseed_postgres' not found*"])
    assert "mockseed: seed" not in result.stdout.str()


def test_help_lists_the_group_and_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")

    result.stdout.fnmatch_lines(["*(pytest-mockseed):", "*--mockseed-db-url=URL*"])
    for name, *_ in OPTION_CASES:
        assert _flag(name) in result.stdout.str()
        assert f"mockseed_{name} " in result.stdout.str()


def test_the_modules_pytest_loads_import_nothing_heavy() -> None:
    heavy = [
        "sqlalchemy",
        "psycopg",
        "confluent_kafka",
        "docker",
        "testcontainers",
        "factory",
    ]
    code = (
        "import sys, pytest_mockseed.plugin, pytest_mockseed.fixtures;"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert out.stdout.strip() == "[]", out.stderr
