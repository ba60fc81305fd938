"""Hooks a conftest can implement to shape the seeded world."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pytest_mockseed.scenario import World


@pytest.hookspec
def pytest_mockseed_seed(world: World, session: Session) -> None:
    """Add rows of your own to the seeded template, once per run.

    Called right after the scenario has seeded the template database, with
    the scenario's result and a session inside the seeding transaction.
    What you add is cloned into, or rolled back to, for every test, so it
    costs nothing per test. Do not commit: the plugin commits once after
    every implementation has run.
    """
