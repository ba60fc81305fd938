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
import os
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
    return uuid.UUID(bytes=bytes(_uuid_bytes()))


def new_uuid_hex() -> str:
    """Return a fresh uuid as 32 hex characters, the form events use.

    Built from the bytes, not through a ``UUID`` object: the feedback
    pipeline asks for two per event, and the object cost twice the time.
    """
    return _uuid_bytes().hex()


def _uuid_bytes() -> bytearray:
    """The 16 bytes of a version-4 uuid, random or drawn from the seed.

    The version and variant bits are set as ``uuid.UUID(version=4)`` sets
    them, so a seed draws the same uuids as it always did.
    """
    frozen_state = _current.get()
    if frozen_state is None:
        raw = bytearray(os.urandom(16))
    else:
        raw = bytearray(frozen_state.rng.getrandbits(128).to_bytes(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw


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
