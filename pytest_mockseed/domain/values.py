"""Checks on single input values, shared by every rule.

The rules validate all of their input before they write anything, so that
bad input ends in a :class:`ValidationError` that names the value and never
in a driver traceback or a half-written row. PostgreSQL refuses NUL
characters in text and UTF-8 cannot encode lone surrogates; both are
caught here rather than at ``flush`` time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from pytest_mockseed.domain.errors import ValidationError

_E = TypeVar("_E", bound=Enum)

#: Largest value of PostgreSQL's INTEGER, the type of every id column here;
#: a larger id would make the driver fail instead of finding no row.
MAX_ID = 2**31 - 1


def text(
    field: str,
    value: object,
    *,
    max_length: int | None = None,
    min_length: int = 0,
) -> str:
    """Return ``value`` if it is a string PostgreSQL can store, else refuse it."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")

    if "\x00" in value:
        raise ValidationError(field, "must not contain NUL characters")
    if not is_encodable(value):
        raise ValidationError(field, "must be valid Unicode (no lone surrogates)")

    if len(value) < min_length:
        raise ValidationError(field, f"must be at least {min_length} characters long")
    if max_length is not None and len(value) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters long")
    return value


def optional_text(
    field: str, value: object, *, max_length: int | None = None
) -> str | None:
    """Like :func:`text`, but ``None`` stays ``None``."""
    if value is None:
        return None
    return text(field, value, max_length=max_length)


def is_encodable(value: str) -> bool:
    """Tell whether ``value`` can be written as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def integer(field: str, value: object, *, low: int, high: int) -> int:
    """Return ``value`` if it is an integer within ``low..high`` inclusive."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer, not {type(value).__name__}")

    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}")
    return value


def row_id(field: str, value: object) -> int:
    """Return ``value`` if it can be the id of a row."""
    return integer(field, value, low=1, high=MAX_ID)


def number(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"must be a number, not {type(value).__name__}")

    try:
        converted = float(value)
    except OverflowError:
        raise ValidationError(field, "is too large") from None
    if not math.isfinite(converted):
        raise ValidationError(field, "must be a finite number")
    return converted


def member(field: str, enum_class: type[_E], value: object) -> _E:
    """Return the member of ``enum_class`` whose value is ``value``.

    Booleans and floats are refused although Python finds ``True`` and
    ``1.0`` equal to 1: passed where an enum belongs, they are mistakes.
    """
    if isinstance(value, enum_class):
        return value

    choices = ", ".join(str(item.value) for item in enum_class)
    if isinstance(value, bool | float):
        raise ValidationError(field, f"must be one of {choices}")
    try:
        return enum_class(value)
    except (ValueError, TypeError):
        raise ValidationError(field, f"must be one of {choices}") from None


def aware_datetime(field: str, value: object) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime.

    Naive datetimes are refused because the scenario compares times across
    rows; guessing a zone would shift them silently.
    """
    if not isinstance(value, datetime):
        raise ValidationError(field, f"must be a datetime, not {type(value).__name__}")

    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "must be timezone-aware")
    return value


def utc_isoformat(value: datetime) -> str:
    """Write an aware datetime in UTC with microseconds, as events carry it."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def same_organization(owned: Any, organization: Any) -> bool:
    """Tell whether ``owned`` belongs to ``organization``.

    New objects are compared by identity (they have no id before a flush),
    stored ones by id, so objects loaded through another query still match.
    """
    if owned.organization is organization:
        return True
    return organization.id is not None and owned.organization_id == organization.id
