"""Per-test cost of ``seeded_org``: the rolled-back default vs a clone per test."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from benchmarks.report import Figure
from benchmarks.seeding import ANCHOR, SEED
from pytest_mockseed import factories
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.isolation import SeededDatabases, open_databases
from pytest_mockseed.seeded import load_seeded_org


def open_seeded(admin_url: str) -> SeededDatabases:
    """The template and working clone the plugin makes, with default settings."""
    settings = MockseedConfig(services="local", seed=SEED, anchor=ANCHOR)
    return open_databases(admin_url, settings, None)


def one_test(databases: SeededDatabases, isolation: str) -> float:
    """Seconds for what ``seeded_org`` does around one test that does nothing."""
    started = time.perf_counter()
    factories.reseed(SEED, anchor_time=ANCHOR)
    with databases.session(isolation) as session, factories.bound_to(session):
        org = load_seeded_org(session, databases.template.world)
        assert org.projects
    return time.perf_counter() - started


def _median_ms(run: Callable[[], float], times: int) -> float:
    run()  # warm the pool and the caches
    return statistics.median(run() for _ in range(times)) * 1000


def isolation_figure(databases: SeededDatabases, tests: int, clones: int) -> Figure:
    """Median per-test cost, transaction (< 5 ms) vs database (≥ 10x dearer)."""
    rolled = _median_ms(lambda: one_test(databases, "transaction"), tests)
    cloned = _median_ms(lambda: one_test(databases, "database"), clones)
    ratio = cloned / rolled
    return Figure(
        "per-test seeded_org, rolled back (median)",
        f"{rolled:.2f} ms",
        f"template clone {cloned:.1f} ms",
        f"{ratio:.0f}x cheaper",
        "< 5 ms and >= 10x",
        rolled < 5 and ratio >= 10,
        note=f"median of {tests} rolled-back tests and {clones} clone+drop tests, "
        "each with reseed, bound_to and load_seeded_org as the fixture does",
    )
