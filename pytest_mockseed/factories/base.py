"""What every factory shares: the base class, a fast Faker, seeded time and ids.

All randomness goes through Faker's shared generator, which
``factory.random.reseed_random`` seeds; all times are an anchor minus a
seeded offset. Nothing here reads the clock or ``uuid4``, so the same seed
and anchor give the same rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import faker
from factory.alchemy import SQLAlchemyModelFactory
from factory.declarations import LazyFunction, PostGeneration
from sqlalchemy.orm import Session

from pytest_mockseed.binding import current_session

#: Where factory times count back from unless :func:`set_anchor` moved it.
DEFAULT_ANCHOR = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

_state = {"anchor": DEFAULT_ANCHOR}

ModelT = TypeVar("ModelT")

#: The one Faker every factory draws from. Weighting off makes a name about
#: 8x cheaper; for seeded test data a uniform draw is as good. It uses
#: Faker's module-level generator, which ``reseed_random`` seeds.
FAKER = faker.Faker("en_US", use_weighting=False)


def anchor() -> datetime:
    """Return the time the factories' timestamps count back from."""
    return _state["anchor"]


def set_anchor(when: datetime) -> None:
    """Move the anchor, e.g. to the start of the run so data looks recent."""
    if when.tzinfo is None:
        raise ValueError("the anchor time must be timezone-aware")
    _state["anchor"] = when


def random_uuid() -> uuid.UUID:
    """Return a version-4 uuid drawn from the seeded generator."""
    return uuid.UUID(int=FAKER.random.getrandbits(128), version=4)


def random_hex(length: int = 32) -> str:
    """Return ``length`` seeded hex digits (32 for event ids, 16 for spans)."""
    return f"{FAKER.random.getrandbits(4 * length):0{length}x}"


def slugify(text: str, max_length: int = 40) -> str:
    """Lower-case ``text`` into a URL slug, as the reference derives slugs."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "x"


def before_anchor(max_days: float) -> datetime:
    """Return a seeded time up to ``max_days`` before the anchor, to the second."""
    seconds = FAKER.random.randint(0, int(max_days * 86400))
    return anchor() - timedelta(seconds=seconds)


def between(start: datetime, end: datetime) -> datetime:
    """Return a seeded time in ``[start, end]``, to the second."""
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=FAKER.random.randint(0, max(seconds, 0)))


def ago(max_days: float) -> Any:
    """Declare a timestamp up to ``max_days`` before the anchor."""
    return LazyFunction(lambda: before_anchor(max_days))


def pick(choices: tuple[Any, ...]) -> Any:
    """Declare a seeded choice among ``choices``."""
    return LazyFunction(lambda: FAKER.random.choice(choices))


def link_each(
    attribute: str, default: Callable[[Any, bool], list[Any]] | None = None
) -> Any:
    """Declare a post-generation hook that links a list to a proxy collection.

    ``Factory(projects=[a, b])`` links exactly those; without the argument
    ``default(instance, create)`` supplies the list (none without a default).
    """

    def link(instance: Any, create: bool, extracted: Any, **kwargs: Any) -> int:
        if extracted is None:
            extracted = default(instance, create) if default else []
        getattr(instance, attribute).extend(extracted)
        return len(extracted)

    return PostGeneration(link)


class MockseedFactory(SQLAlchemyModelFactory, Generic[ModelT]):
    """Base of every factory: flush, never commit, and flush post-generation links.

    Rows go to the session bound by :func:`pytest_mockseed.factories.bound_to`
    (the plugin binds each test's), read at every ``create``; subclasses,
    users' included, inherit that. Subclasses name their model
    as the type parameter, so ``UserFactory.create()`` is typed ``User`` in
    strictly typed callers (calling the factory class itself is untyped).
    """

    class Meta:
        """Abstract: only the concrete factories name a model."""

        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    @classmethod
    def build(cls, **kwargs: Any) -> ModelT:
        """Return an unsaved instance."""
        instance: ModelT = super().build(**kwargs)
        return instance

    @classmethod
    def create(cls, **kwargs: Any) -> ModelT:
        """Return an instance added to the bound session and flushed."""
        instance: ModelT = super().create(**kwargs)
        return instance

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[ModelT]:
        """Return ``size`` unsaved instances."""
        instances: list[ModelT] = super().build_batch(size, **kwargs)
        return instances

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[ModelT]:
        """Return ``size`` instances, each added and flushed."""
        instances: list[ModelT] = super().create_batch(size, **kwargs)
        return instances

    @classmethod
    def _after_postgeneration(
        cls, instance: Any, create: bool, results: Any = None
    ) -> None:
        # Links added by post-generation hooks need a flush of their own.
        session = session_of(cls)
        if create and results and any(results.values()) and session is not None:
            session.flush()


def session_of(factory_class: type[MockseedFactory[Any]]) -> Session | None:
    """Return the session ``factory_class`` creates rows in now."""
    options: Any = factory_class._meta
    factory = options.sqlalchemy_session_factory
    session: Session | None = factory() if factory else options.sqlalchemy_session
    return session
