"""The declarative base, the one MetaData, and the column types we share.

Every table of the seeded world hangs off :data:`metadata`, so one
``metadata.create_all`` builds the whole schema. Constraint names follow a
naming convention so that an ``IntegrityError`` names the rule it broke
(``uq_teams_organization_id_slug``) in every run, and migrations diff cleanly.

Enumerations are stored as the reference's integers (or strings) but come
back as Python enums: :class:`IntEnumType` and :class:`StrEnumType` do the
conversion and reject values outside the enum before they reach the database.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag, StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Dialect, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: Every timestamp is timezone-aware; callers pass the time (no clock here).
Timestamp = DateTime(timezone=True)

_IntE = TypeVar("_IntE", bound=IntEnum | IntFlag)
_StrE = TypeVar("_StrE", bound=StrEnum)


class Base(DeclarativeBase):
    """Declarative base of every pytest-mockseed model."""

    metadata = metadata


class IntEnumType(TypeDecorator[_IntE], Generic[_IntE]):
    """Store an ``IntEnum`` (or ``IntFlag``) as its integer value.

    Loading gives the enum member back, so ``incident.status`` compares and
    prints as ``IncidentStatus.OPEN`` rather than a bare ``1``.
    """

    impl = Integer
    cache_ok = True

    def __init__(self, enum_class: type[_IntE]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        """Validate ``value`` against the enum and return its integer."""
        if value is None:
            return None
        return int(self.enum_class(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> _IntE | None:
        """Turn the stored integer back into the enum member."""
        if value is None:
            return None
        return self.enum_class(value)


class StrEnumType(TypeDecorator[_StrE], Generic[_StrE]):
    """Store a ``StrEnum`` as its string value, where the reference uses strings."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[_StrE], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Validate ``value`` against the enum and return its string."""
        if value is None:
            return None
        return str(self.enum_class(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> _StrE | None:
        """Turn the stored string back into the enum member."""
        if value is None:
            return None
        return self.enum_class(value)
