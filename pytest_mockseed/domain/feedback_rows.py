"""Writing ``feedback`` rows quickly enough for batches of thousands.

A batch benchmark needs several thousand confirmed feedbacks a second, and
a multi-row ``INSERT ... RETURNING`` spends most of its time in the driver
splitting one huge statement. Large batches therefore reserve their ids
from the table's sequence, stream the rows with ``COPY`` and load them back
as ORM objects in one query. Small batches take the ordinary ORM path.
Both run inside a savepoint, so a row the database refuses leaves nothing
behind.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import psycopg
from sqlalchemy import (
    BigInteger,
    BindParameter,
    any_,
    bindparam,
    exc,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.models import Feedback

logger = logging.getLogger(__name__)

#: Below this many rows the ORM's INSERT costs little, and it keeps the
#: common single-feedback call on the ordinary path.
COPY_THRESHOLD = 64

_ID_ARRAY: ARRAY[int] = ARRAY(BigInteger)

_COLUMNS = (
    "id",
    "project_id",
    "event_id",
    "message",
    "contact_email",
    "name",
    "source",
    "status",
    "reason",
    "is_spam",
    "occurrence_id",
    "delivered",
    "has_attachment",
    "date_added",
)


def insert_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[Feedback]:
    """Insert ``rows`` (column -> value) and return them as ORM objects."""
    if not rows:
        return []

    try:
        with session.begin_nested():
            driver = _psycopg_connection(session)
            if len(rows) < COPY_THRESHOLD or driver is None:
                return _insert_with_orm(session, rows)
            return _insert_with_copy(session, driver, rows)
    except (exc.DataError, psycopg.DataError) as error:
        reason = getattr(error, "orig", None) or error
        raise ValidationError(
            "event", f"the database refused a value: {reason}"
        ) from None


def _psycopg_connection(session: Session) -> psycopg.Connection[Any] | None:
    """Return the session's psycopg 3 connection, which COPY needs, if any."""
    driver = session.connection().connection.driver_connection
    return driver if isinstance(driver, psycopg.Connection) else None


def _insert_with_orm(
    session: Session, rows: Sequence[Mapping[str, Any]]
) -> list[Feedback]:
    objects = [Feedback(**row) for row in rows]
    session.add_all(objects)
    session.flush()
    return objects


def _insert_with_copy(
    session: Session,
    driver: psycopg.Connection[Any],
    rows: Sequence[Mapping[str, Any]],
) -> list[Feedback]:
    """Reserve ids, stream the rows, then load them back as ORM objects.

    Loading back is about five times cheaper than building the objects
    through the ORM constructor, and it leaves them persistent in the
    session like any other query result.
    """
    ids = _reserve_ids(session, len(rows))
    statement = f"COPY feedback ({', '.join(_COLUMNS)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row_id, row in zip(ids, rows, strict=True):
            copy.write_row([row_id, *(_stored(row[name]) for name in _COLUMNS[1:])])

    loaded = session.scalars(
        select(Feedback).where(Feedback.id == any_(_id_array(ids)))
    )
    by_id = {item.id: item for item in loaded}
    logger.debug("feedback: copied %d rows", len(by_id))
    return [by_id[row_id] for row_id in ids]


def _id_array(ids: Sequence[int]) -> BindParameter[Sequence[int]]:
    """Bind a list of ids as one array parameter, not one parameter each."""
    return bindparam("ids", list(ids), type_=_ID_ARRAY)


def _reserve_ids(session: Session, count: int) -> list[int]:
    """Take ``count`` ids from the table's sequence in one round trip."""
    sequence = session.scalar(text("SELECT pg_get_serial_sequence('feedback', 'id')"))
    ids = session.scalars(
        select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    )
    return list(ids)


def _stored(value: object) -> object:
    """Give COPY the stored form of enums; other values pass unchanged."""
    return value.value if isinstance(value, Enum) else value


def mark_undelivered(session: Session, rows: Sequence[Feedback]) -> None:
    """Record in one statement that the broker did not confirm these rows."""
    if not rows:
        return

    ids = [row.id for row in rows]
    session.execute(
        update(Feedback)
        .where(Feedback.id == any_(_id_array(ids)))
        .values(delivered=False)
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        set_committed_value(row, "delivered", False)
