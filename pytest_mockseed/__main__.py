"""``python -m pytest_mockseed``: the ``mockseed`` command, where no script is installed."""

from __future__ import annotations

from pytest_mockseed.cli import main

raise SystemExit(main())
