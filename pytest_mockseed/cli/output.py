"""Where the commands' output goes: people on a terminal, or scripts.

People get a progress bar (on a terminal) and a summary table; scripts get
``--json`` and ``KEY=value`` lines, written plainly to stdout and flushed at
once, so a process reading the pipe sees them while ``up`` keeps running.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence

from rich.console import Console

from pytest_mockseed.cli.progress import Phases
from pytest_mockseed.cli.summary import Summary


class Output:
    """The command's stdout: a progress bar, then a table, JSON or plain lines."""

    def __init__(self, *, json_output: bool) -> None:
        self.json_output = json_output
        self.console = Console()

    def phases(self, steps: Sequence[str]) -> Phases:
        """A progress bar over ``steps``; off for JSON and when not on a terminal."""
        enabled = self.console.is_terminal and not self.json_output
        return Phases(self.console, steps, enabled=enabled)

    def summary(
        self, summary: Summary, extra: Mapping[str, object] | None = None
    ) -> None:
        """Print the summary as a table, or as one JSON object with ``extra`` merged in."""
        if self.json_output:
            self.write(json.dumps(summary.as_json() | dict(extra or {})))
            return

        self.console.print(summary.table())
        for note in summary.notes():
            self.console.print(note, highlight=False, markup=False)

    def write(self, line: str) -> None:
        """Write one line to stdout as it is (never wrapped) and flush it."""
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
