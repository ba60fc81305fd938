"""One source of time and identifiers, so the same seed gives the same rows.

Domain rules ask this module for "now" and for fresh uuids instead of calling
``datetime.now`` or ``uuid.uuid4`` directly. Outside :func:`frozen` they get
the real clock and real random uuids; inside it (the scenario seeds inside
it) they get the anchor time and uuids drawn from the seed, so two runs with
the same seed and anchor write byte-identical rows.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class _Frozen:
    anchor: datetime
    rng: random.Random


_current: contextvars.ContextVar[_Frozen | None] = contextvars.ContextVar(
    "mockseed_frozen", default=None
)


def now() -> datetime:
    """Return the current time in UTC, or the anchor while frozen."""
    frozen_state = _current.get()
    if frozen_state is None:
        return datetime.now(UTC)
    return frozen_state.anchor


def new_uuid() -> uuid.UUID:
    """Return a version-4 uuid, drawn from the seed while frozen."""
    frozen_state = _current.get()
    if frozen_state is None:
        return uuid.uuid4()
    return uuid.UUID(int=frozen_state.rng.getrandbits(128), version=4)


def new_uuid_hex() -> str:
    """Return a fresh uuid as 32 hex characters, the form events use."""
    return new_uuid().hex


@contextlib.contextmanager
def frozen(anchor: datetime, seed: int) -> Iterator[random.Random]:
    """Freeze the clock at ``anchor`` and draw uuids from ``seed``.

    Yields the seeded random generator so callers can draw other values
    from the same stream.
    """
    if anchor.tzinfo is None:
        raise ValueError("the anchor time must be timezone-aware")

    token = _current.set(_Frozen(anchor=anchor, rng=random.Random(seed)))
    try:
        yield _current.get().rng  # type: ignore[union-attr]
    finally:
        _current.reset(token)


def factories_seed(seed: int) -> int:
    """The seed the factories use in a test, derived from the run's seed.

    The scenario draws its values (event ids among them) from ``seed``
    itself; the factories must not replay that stream, or a factory row in
    a test could repeat a seeded unique value.
    """
    digest = hashlib.sha256(f"factories:{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
