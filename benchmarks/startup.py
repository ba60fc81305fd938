"""Start-up figures: cold start measured, warm start (``--mockseed-reuse``) missing."""

from __future__ import annotations

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


def cold_start() -> tuple[float, float]:
    """Seconds from launching ``pytest`` to the first seeded test, and in all."""
    with tempfile.TemporaryDirectory(prefix="mockseed-bench-") as folder:
        root = Path(folder)
        (root / "test_cold.py").write_text(_TEST_FILE)
        (root / "pytest.ini").write_text("[pytest]\n")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--mockseed-events=50",
            "--mockseed-services=local",
            "test_cold.py",
        ]
        launched = time.time()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        total = time.time() - launched
        if done.returncode != 0:
            raise RuntimeError(f"cold-start run failed:\n{done.stdout}\n{done.stderr}")
        first = float((root / "first_test_at").read_text())
    return first - launched, total


def startup_figures() -> list[Figure]:
    """Cold start against its 5 s target; warm start reported as not implemented."""
    to_first, total = cold_start()
    return [
        Figure(
            "cold start to first seeded test (events=50)",
            seconds(to_first),
            f"whole run {seconds(total)}",
            "-",
            "<= 5 s",
            to_first <= 5,
            note="a fresh `pytest` process: starts PostgreSQL and Tansu, seeds "
            "the template, clones the working database",
        ),
        Figure(
            "warm start to first seeded test (events=50)",
            "not implemented",
            f"cold {seconds(to_first)}",
            "-",
            "<= 1.5 s",
            None,
            note="the plugin has no --mockseed-reuse implementation yet",
        ),
    ]
