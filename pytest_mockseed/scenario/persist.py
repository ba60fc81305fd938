"""Storing generated event rows: ``COPY`` for speed, the ORM as the reference.

Both writers take the same rows and leave identical tables (ids come from
the same sequence in the same order), which a test compares. ``COPY``
streams: rows are generated while they are sent, so a million events never
sit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from pytest_mockseed.models import Event

EVENT_COLUMNS = (
    "event_id",
    "project_id",
    "type",
    "platform",
    "level",
    "message",
    "environment",
    "release",
    "timestamp",
    "tags",
    "data",
    "trace_id",
    "span_id",
    "parent_span_id",
    "transaction",
)
_JSON_INDEXES = tuple(EVENT_COLUMNS.index(name) for name in ("tags", "data"))
_QUOTED_COLUMNS = ", ".join('"' + column + '"' for column in EVENT_COLUMNS)
_COPY_EVENTS = f"COPY {Event.__tablename__} ({_QUOTED_COLUMNS}) FROM STDIN"


def copy_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Stream ``rows`` into ``events`` with ``COPY``, in the session's transaction."""
    session.flush()
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, psycopg.Connection):
        raise TypeError("copy_events needs a session on the psycopg 3 driver")
    count = 0
    with connection.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
        for row in rows:
            copy.write_row(_copy_row(row))
            count += 1
    return count


def _copy_row(row: Mapping[str, Any]) -> list[Any]:
    values = [row[name] for name in EVENT_COLUMNS]
    for index in _JSON_INDEXES:
        if values[index] is not None:
            values[index] = Jsonb(values[index])
    return values


def add_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``rows`` through the ORM, one ``Event`` each (slow, the reference)."""
    count = 0
    for row in rows:
        session.add(Event(**row))
        count += 1
    session.flush()
    return count
