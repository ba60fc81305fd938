"""Which session the factories write to, and the seed a test starts them from.

Every seeded test binds the factories to its session and re-seeds them,
but importing factory_boy and Faker costs about a fifth of a second that
a test without factories should not wait for. So the binding lives here,
in a module that imports nothing heavy: the factories ask it for the
session at each ``create``, and a test's seed is applied at once when
they are loaded, or the moment they are imported during the test.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FACTORIES_MODULE = "pytest_mockseed.factories"


@dataclass(frozen=True)
class Binding:
    """A session, and the seed and anchor its test's factory rows start from."""

    session: Session | None
    seed: int | None = None
    anchor: datetime | None = None


_bindings: list[Binding] = []


def current_session() -> Session | None:
    """The session the factories create rows in now (``None``: unbound)."""
    return _bindings[-1].session if _bindings else None


def current_seed() -> Binding | None:
    """The innermost binding that carries a seed, if any."""
    return next((b for b in reversed(_bindings) if b.seed is not None), None)


@contextlib.contextmanager
def bound(
    session: Session | None, seed: int | None = None, anchor: datetime | None = None
) -> Iterator[Session | None]:
    """Bind the factories to ``session`` until the block ends; bindings nest.

    With a ``seed``, the factories are re-seeded now if they are loaded;
    otherwise their import applies it (see :func:`current_seed`).
    """
    binding = Binding(session, seed, anchor)
    _bindings.append(binding)
    try:
        if seed is not None and FACTORIES_MODULE in sys.modules:
            sys.modules[FACTORIES_MODULE].reseed_from(binding)
        yield session
    finally:
        _bindings.remove(binding)
