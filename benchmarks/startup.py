"""Start-up figures: a cold start, and a warm one with ``--mockseed-reuse``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, seconds

_TEST_FILE = """
import time


def test_first(seeded_org):
    with open("first_test_at", "w") as out:
        out.write(repr(time.time()))
"""


# These machines set PYTHONDONTWRITEBYTECODE, which makes every run compile
# every module again (and pytest rewrite the asserts of every plugin's
# modules): seconds that a user's machine, caching bytecode, does not pay.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time_to_first_test(root: Path, *options: str) -> tuple[float, float]:
    """Seconds from launching ``pytest`` in ``root`` to its seeded test, and in all."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--mockseed-events=50",
        "--mockseed-services=local",
        *options,
        "test_start.py",
    ]
    launched = time.time()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=_ENV)
    total = time.time() - launched
    if done.returncode != 0:
        raise RuntimeError(f"start-up run failed:\n{done.stdout}\n{done.stderr}")
    first = float((root / "first_test_at").read_text())
    return first - launched, total


def startup_figures() -> list[Figure]:
    """Cold start against its 5 s target; warm start, reused, against 1.5 s."""
    with tempfile.TemporaryDirectory(prefix="mockseed-bench-") as folder:
        root = Path(folder)
        (root / "test_start.py").write_text(_TEST_FILE)
        (root / "pytest.ini").write_text("[pytest]\n")

        # One whole run first compiles and caches the bytecode of every module
        # the run imports (SQLAlchemy, psycopg, Faker...), as installing them
        # does on a user's machine; a collect-only run would leave them out.
        _time_to_first_test(root)
        cold, cold_total = _time_to_first_test(root)
        _time_to_first_test(root, "--mockseed-reuse", "--mockseed-recreate")
        warm, warm_total = _time_to_first_test(root, "--mockseed-reuse")
        _forget_kept_cluster(root)

    return [
        Figure(
            "cold start to first seeded test (events=50)",
            seconds(cold),
            f"whole run {seconds(cold_total)}",
            "-",
            "<= 5 s",
            cold <= 5,
            note="a fresh `pytest` process: initdb, PostgreSQL and Tansu start, the "
            "template is seeded, the working database cloned",
        ),
        Figure(
            "warm start to first seeded test (events=50)",
            seconds(warm),
            f"cold {seconds(cold)}",
            f"{cold / warm:.1f}x faster" if warm else "-",
            "<= 1.5 s",
            warm <= 1.5,
            note=f"--mockseed-reuse after a run that kept the cluster and template "
            f"(whole run {seconds(warm_total)})",
        ),
    ]


def _forget_kept_cluster(root: Path) -> None:
    """Remove the cluster the reuse runs kept (its directory names the project)."""
    from pytest_mockseed.config import MockseedConfig
    from pytest_mockseed.services.local_postgres import kept_cluster_dir

    kept = kept_cluster_dir(MockseedConfig(reuse=True, root_dir=root))
    if kept is not None:
        shutil.rmtree(kept, ignore_errors=True)
