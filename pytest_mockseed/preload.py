"""Import the database layer in the background while the services start.

Starting the services is mostly waiting on other processes (``initdb``,
the server's start-up, the broker's), and importing SQLAlchemy, psycopg
and the models is about half a second of Python that the first seeded
test would otherwise wait for. A thread imports them meanwhile; the
fixture's own import then finds them loaded, or waits on Python's import
lock for the thread to finish them.
"""

from __future__ import annotations

import importlib
import logging
import threading

logger = logging.getLogger(__name__)

#: What the first seeded test imports, heaviest dependencies first.
MODULES = ("pytest_mockseed.isolation", "pytest_mockseed.seeded")


class BackgroundImport:
    """One thread importing :data:`MODULES`, joined before pytest exits."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin importing; calling it again does nothing."""
        if self._thread is not None:
            return

        self._thread = threading.Thread(
            target=_import_all, name="mockseed-preload", daemon=True
        )
        self._thread.start()

    def join(self) -> None:
        """Wait for the imports, so none is left half done at exit."""
        if self._thread is not None:
            self._thread.join()


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as error:  # the fixture's own import reports it
            logger.debug("preload: importing %s failed: %s", name, error)
            return
