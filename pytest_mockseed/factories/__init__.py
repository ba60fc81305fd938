"""factory_boy factories for every model, seeded and bound per test.

Factories persist with a flush, never a commit: the caller's session (the
plugin's per-test session) owns the transaction. Two switches make them
usable from fixtures:

- :func:`reseed` makes the next rows a function of a seed alone;
- :func:`bound_to` points every factory at one session for a while.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from factory.random import reseed_random
from sqlalchemy.orm import Session

from pytest_mockseed import binding
from pytest_mockseed.factories.alerts import (
    AlertRuleFactory,
    AlertRuleProjectFactory,
    AlertRuleTriggerActionFactory,
    AlertRuleTriggerFactory,
)
from pytest_mockseed.factories.base import (
    DEFAULT_ANCHOR,
    FAKER,
    MockseedFactory,
    anchor,
    set_anchor,
)
from pytest_mockseed.factories.events import EventFactory, TransactionEventFactory
from pytest_mockseed.factories.feedback import FeedbackFactory
from pytest_mockseed.factories.incidents import (
    IncidentActivityFactory,
    IncidentFactory,
    IncidentProjectFactory,
    IncidentSubscriptionFactory,
)
from pytest_mockseed.factories.monitors import (
    MonitorCheckInFactory,
    MonitorEnvironmentFactory,
    MonitorFactory,
)
from pytest_mockseed.factories.organizations import (
    BroadcastFactory,
    EnvironmentFactory,
    EnvironmentProjectFactory,
    OrganizationAccessRequestFactory,
    OrganizationFactory,
    OrganizationMemberFactory,
    ProjectFactory,
    ProjectTeamFactory,
    TeamFactory,
    UserFactory,
)

ALL_FACTORIES: tuple[type[MockseedFactory[Any]], ...] = (
    UserFactory,
    OrganizationFactory,
    OrganizationMemberFactory,
    TeamFactory,
    ProjectTeamFactory,
    ProjectFactory,
    EnvironmentFactory,
    EnvironmentProjectFactory,
    MonitorFactory,
    MonitorEnvironmentFactory,
    MonitorCheckInFactory,
    OrganizationAccessRequestFactory,
    BroadcastFactory,
    EventFactory,
    TransactionEventFactory,
    AlertRuleFactory,
    AlertRuleProjectFactory,
    AlertRuleTriggerFactory,
    AlertRuleTriggerActionFactory,
    IncidentFactory,
    IncidentProjectFactory,
    IncidentActivityFactory,
    IncidentSubscriptionFactory,
    FeedbackFactory,
)


def _every_factory() -> list[type[MockseedFactory[Any]]]:
    """Return ours and any subclass a user declared, in a stable order."""
    found: list[type[MockseedFactory[Any]]] = []
    pending = list(ALL_FACTORIES)
    while pending:
        candidate = pending.pop(0)
        if candidate not in found:
            found.append(candidate)
            pending.extend(candidate.__subclasses__())
    return found


def reseed(seed: int, *, anchor_time: datetime = DEFAULT_ANCHOR) -> None:
    """Make the rows that follow a function of ``seed`` and ``anchor_time``.

    Re-seeds factory_boy's and Faker's random state, moves the time anchor,
    and resets every factory sequence to 0. Rows made after a reseed may
    therefore repeat unique values of rows made before it in the same
    database: reseed once, before the rows of one dataset.
    """
    reseed_random(seed)
    set_anchor(anchor_time)
    for each in _every_factory():
        each._meta.reset_sequence(0, force=True)


def reseed_from(test: binding.Binding) -> None:
    """Apply the seed and anchor a test's binding carries, if any."""
    if test.seed is not None:
        reseed(test.seed, anchor_time=test.anchor or DEFAULT_ANCHOR)


@contextlib.contextmanager
def bound_to(session: Session | None) -> Iterator[Session | None]:
    """Make every factory create its rows in ``session`` until the block ends.

    The previous session is restored afterwards, even when the block
    raises, so bindings nest; ``None`` unbinds them for a while. Factories
    declared by users (subclasses of ours) are bound too.
    """
    with binding.bound(session):
        yield session


__all__ = [
    "ALL_FACTORIES",
    "DEFAULT_ANCHOR",
    "FAKER",
    "AlertRuleFactory",
    "AlertRuleProjectFactory",
    "AlertRuleTriggerActionFactory",
    "AlertRuleTriggerFactory",
    "BroadcastFactory",
    "EnvironmentFactory",
    "EnvironmentProjectFactory",
    "EventFactory",
    "FeedbackFactory",
    "IncidentActivityFactory",
    "IncidentFactory",
    "IncidentProjectFactory",
    "IncidentSubscriptionFactory",
    "MockseedFactory",
    "MonitorCheckInFactory",
    "MonitorEnvironmentFactory",
    "MonitorFactory",
    "OrganizationAccessRequestFactory",
    "OrganizationFactory",
    "OrganizationMemberFactory",
    "ProjectFactory",
    "ProjectTeamFactory",
    "TeamFactory",
    "TransactionEventFactory",
    "UserFactory",
    "anchor",
    "bound_to",
    "reseed",
    "reseed_from",
    "set_anchor",
]


def _start_from_running_test() -> None:
    """Imported while a seeded test runs: start from that test's seed.

    Factories imported before the test were re-seeded when it began; these
    must draw the same values, wherever the test module imports them.
    """
    running = binding.current_seed()
    if running is not None:
        reseed_from(running)


_start_from_running_test()
