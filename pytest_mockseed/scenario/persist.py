"""Storing generated event rows: ``COPY`` for speed, the ORM as the reference.

Both writers take the same rows and leave identical tables (ids come from
the same sequence in the same order), which a test compares. ``COPY``
streams: rows are generated while they are sent, so a million events never
sit in memory at once.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import psycopg
from psycopg.types.json import JsonbDumper
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
_ROW_VALUES = operator.itemgetter(*EVENT_COLUMNS)
_QUOTED_COLUMNS = ", ".join('"' + column + '"' for column in EVENT_COLUMNS)
_COPY_EVENTS = f"COPY {Event.__tablename__} ({_QUOTED_COLUMNS}) FROM STDIN"


def copy_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Stream ``rows`` into ``events`` with ``COPY``, in the session's transaction."""
    session.flush()
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, psycopg.Connection):
        raise TypeError("copy_events needs a session on the psycopg 3 driver")
    count = 0
    with connection.cursor() as cursor:
        cursor.adapters.register_dumper(dict, _DictAsJsonb)
        with cursor.copy(_COPY_EVENTS) as copy:
            for row in rows:
                copy.write_row(_ROW_VALUES(row))
                count += 1
    return count


class _DictAsJsonb(JsonbDumper):
    """Writes a dict as jsonb, encoded by orjson.

    Registered for the events' ``COPY`` only: a ``Jsonb`` wrapper per value
    and the stdlib encoder cost more than generating the events did, and
    with them this process, not the server, set the pace of seeding.
    """

    _dumps = orjson.dumps


def add_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``rows`` through the ORM, one ``Event`` each (slow, the reference)."""
    count = 0
    for row in rows:
        session.add(Event(**row))
        count += 1
    session.flush()
    return count
