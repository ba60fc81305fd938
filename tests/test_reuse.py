"""``--mockseed-reuse``: a kept template is used again, and rebuilt when it should be.

The seeding hook of the inner conftest writes a line each time the scenario
really runs, which tells a reused template from a rebuilt one.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData

from pytest_mockseed import reuse
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.models import metadata
from pytest_mockseed.services.handles import PostgresHandle
from pytest_mockseed.services.postgres import libpq_url
from tests.conftest import databases_like

KEPT = "mockseed_kept_%"
TEMPLATES = "mockseed_kept_%_main"
SPARES = "mockseed_kept_%_spare"

CONFTEST = """
import os

def pytest_mockseed_seed(world, session):
    with open(os.environ["SEEDED_LOG"], "a") as log:
        log.write(f"{world.seed}\\n")
"""

TEST = """
from sqlalchemy import func, select
from pytest_mockseed.models import Event, Incident


def test_world(seeded_org, mockseed_kafka):
    session = seeded_org.session
    assert session.scalar(select(func.count()).select_from(Event)) == 6 * 4 + 9
    assert session.scalar(select(func.count()).select_from(Incident)) == 6
    assert len(mockseed_kafka.messages("ingest-occurrences")) == 1
"""


@pytest.fixture
def seeded_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "seeded.log"
    monkeypatch.setenv("SEEDED_LOG", str(path))
    return path


@pytest.fixture
def shared_db(shared_services: list[str]) -> list[str]:
    """Reuse the outer server, but give every inner run a fresh broker of its own."""
    return [
        option for option in shared_services if option.startswith("--mockseed-db-url")
    ]


@pytest.fixture
def admin(mockseed_postgres: PostgresHandle) -> Iterator[str]:
    """The outer server, where inner runs keep templates; emptied of them after."""
    url = libpq_url(mockseed_postgres.url)
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        for name in databases_like(url, KEPT):
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


BASE = MockseedConfig(seed=1337, anchor=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 5},
        {"events": 10},
        {"skip_default_setup": True},
        {"extra_events": True},
        {"sources": {"anchor": "cli"}},  # an anchor the user set
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_seeding_option_changes_the_template_key(
    change: dict[str, object],
) -> None:
    changed = dataclasses.replace(BASE, **change)

    assert reuse.template_key(changed, []) != reuse.template_key(BASE, [])


def test_the_key_ignores_what_does_not_shape_the_rows() -> None:
    # The anchor of a run is its start time unless set: a kept world keeps
    # the anchor of the run that built it.
    later = dataclasses.replace(BASE, anchor=datetime(2027, 1, 1, tzinfo=UTC))
    other_services = dataclasses.replace(BASE, services="local", delivery_timeout=1)

    assert reuse.template_key(later, []) == reuse.template_key(BASE, [])
    assert reuse.template_key(other_services, []) == reuse.template_key(BASE, [])


def test_a_changed_schema_or_hook_changes_the_template_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = reuse.template_key(BASE, [])
    altered = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(altered)
    altered.tables["events"].append_column(Column("severity", Integer))
    monkeypatch.setattr(reuse, "metadata", altered)

    assert reuse.template_key(BASE, []) != before
    assert reuse.template_key(BASE, ["def pytest_mockseed_seed(): ..."]) != (
        reuse.template_key(BASE, [])
    )


def _run(pytester: pytest.Pytester, *args: str) -> None:
    result = pytester.runpytest_subprocess("--mockseed-events=4", *args)
    result.assert_outcomes(passed=1)


def test_a_kept_template_is_reused_then_rebuilt_when_options_change(
    pytester: pytest.Pytester, shared_db: list[str], seeded_log: Path, admin: str
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TEST)

    _run(pytester, *shared_db, "--mockseed-reuse")
    _run(pytester, *shared_db, "--mockseed-reuse")
    assert seeded_log.read_text().split() == ["1337"]
    assert len(databases_like(admin, TEMPLATES)) == 1

    _run(pytester, *shared_db, "--mockseed-reuse", "--mockseed-seed=5")
    _run(pytester, *shared_db, "--mockseed-reuse", "--mockseed-recreate")
    assert seeded_log.read_text().split() == ["1337", "5", "1337"]


def test_a_changed_hook_rebuilds_the_template(
    pytester: pytest.Pytester, shared_db: list[str], seeded_log: Path, admin: str
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TEST)
    _run(pytester, *shared_db, "--mockseed-reuse")

    pytester.makeconftest(
        CONFTEST.replace("    with open", "    session.flush()\n    with open")
    )
    _run(pytester, *shared_db, "--mockseed-reuse")

    assert seeded_log.read_text().split() == ["1337", "1337"]


@pytest.mark.parametrize(
    "damage",
    [
        "COMMENT ON DATABASE {name} IS NULL",  # as if seeding died half-way
        "DELETE FROM events WHERE id = 1",  # changed since it was seeded
    ],
)
def test_a_half_built_or_changed_template_is_rebuilt(
    pytester: pytest.Pytester,
    shared_db: list[str],
    seeded_log: Path,
    admin: str,
    damage: str,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TEST)
    _run(pytester, *shared_db, "--mockseed-reuse")
    [name] = sorted(databases_like(admin, TEMPLATES))

    target = admin if "COMMENT" in damage else admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(damage.format(name=f'"{name}"'))
    _run(pytester, *shared_db, "--mockseed-reuse")

    assert seeded_log.read_text().split() == ["1337", "1337"]


@pytest.mark.parametrize(
    ("args", "workers"), [((), ["main"]), (("-n", "2"), ["gw0", "gw1"])]
)
def test_kept_templates_are_one_per_xdist_worker(
    pytester: pytest.Pytester,
    shared_db: list[str],
    admin: str,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    workers: list[str],
) -> None:
    # What a run started inside an xdist worker inherits; it is no worker.
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_world(seeded_org, n):
            assert seeded_org.projects
        """
    )

    result = pytester.runpytest_subprocess(*shared_db, "--mockseed-reuse", *args)

    result.assert_outcomes(passed=4)
    kept = databases_like(admin, "mockseed_kept_%")
    assert sorted({name.split("_")[3] for name in kept}) == workers


WORKING_OID = """
import os
from sqlalchemy import text


def test_world(seeded_org):
    oid = seeded_org.session.scalar(
        text("SELECT oid FROM pg_database WHERE datname = current_database()")
    )
    with open(os.environ["WORKING_OID"], "w") as out:
        out.write(str(oid))
"""


def _spare_oids(admin: str) -> set[int]:
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT oid FROM pg_database WHERE datname LIKE %s", (SPARES,)
        )
        return {int(row[0]) for row in rows}


def test_the_next_run_works_in_the_spare_clone_of_its_template(
    pytester: pytest.Pytester,
    shared_db: list[str],
    admin: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile(WORKING_OID)
    working_oid = tmp_path / "working-oid"
    monkeypatch.setenv("WORKING_OID", str(working_oid))

    _run(pytester, *shared_db, "--mockseed-reuse")
    [spare] = _spare_oids(admin)
    _run(pytester, *shared_db, "--mockseed-reuse")
    assert int(working_oid.read_text()) == spare  # renamed, not cloned again

    [newer_spare] = _spare_oids(admin)
    _run(pytester, *shared_db, "--mockseed-reuse", "--mockseed-recreate")
    assert int(working_oid.read_text()) != newer_spare  # its template was rebuilt
    assert len(_spare_oids(admin)) == 1


def test_the_local_cluster_is_kept_between_runs(
    pytester: pytest.Pytester, seeded_log: Path, inner_tmp: Path
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TEST)

    _run(pytester, "--mockseed-services=local", "--mockseed-reuse")
    [kept] = inner_tmp.glob("mockseed-reuse-*")
    _run(pytester, "--mockseed-services=local", "--mockseed-reuse")

    assert (kept / "data" / "PG_VERSION").is_file()
    assert seeded_log.read_text().split() == ["1337"]
    assert [p.name for p in inner_tmp.iterdir()] == [kept.name]


@pytest.mark.parametrize(
    "damage",
    ["global/pg_control", "base"],  # as a run killed in initdb, or a lost folder
)
def test_a_kept_cluster_that_no_longer_starts_is_initialised_again(
    pytester: pytest.Pytester, seeded_log: Path, inner_tmp: Path, damage: str
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TEST)
    _run(pytester, "--mockseed-services=local", "--mockseed-reuse")
    [kept] = inner_tmp.glob("mockseed-reuse-*")
    damaged = kept / "data" / damage
    if damaged.is_dir():
        shutil.rmtree(damaged)
    else:
        damaged.unlink()

    _run(pytester, "--mockseed-services=local", "--mockseed-reuse")

    assert seeded_log.read_text().split() == ["1337", "1337"]
    _run(pytester, "--mockseed-services=local", "--mockseed-reuse")
    assert seeded_log.read_text().split() == ["1337", "1337"]
