"""pytest-mockseed: a seeded error-monitoring world in real PostgreSQL and Kafka.

This module stays import-light on purpose: pytest imports it (through the
``pytest11`` entry point) for every run, including ``pytest --help``.
"""

from __future__ import annotations

__version__ = "0.1.0"
