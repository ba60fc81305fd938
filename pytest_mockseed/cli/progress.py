"""A progress bar over the command's steps, for runs that take more than a moment.

The scenario is one call with no progress of its own, so the bar counts
the command's steps (start a server, check the schema, seed, count) and a
spinner and a clock show that the long step is alive. It appears only
after :data:`DELAY` seconds, so quick runs print nothing but their
summary, and never when the output is not a terminal.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

DELAY = 0.5


class Phases:
    """The steps of one command, shown as a transient rich progress bar.

    Use it as a context manager around the steps, and :meth:`step` around
    each one; the bar disappears when the context ends.
    """

    def __init__(
        self, console: Console, steps: Sequence[str], *, enabled: bool
    ) -> None:
        self.enabled = enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not enabled,
        )
        self._task = self._progress.add_task(steps[0], total=len(steps))
        self._timer = threading.Timer(DELAY, self._show)
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Phases:
        if self.enabled:
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            self._progress.stop()

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Show ``description`` while the block runs, then count the step done."""
        self._progress.update(self._task, description=description)
        yield
        self._progress.advance(self._task)

    def _show(self) -> None:
        # Runs on the timer's thread; the lock keeps a late start from
        # leaving a bar on screen after the steps have ended.
        with self._lock:
            if not self._closed:
                self._progress.start()
