"""Keep the seeded template between runs, and never trust a stale or broken one.

A kept template is named after a key: a hash of the schema, the package
version, the seeding options and the ``pytest_mockseed_seed`` hooks, so a
change to any of them builds a new one by itself. The template is marked
ready only after its seeding committed, with a database comment (which
clones do not inherit) that holds the world and the row count of every
table; a template without the mark, or whose counts differ, is rebuilt.

A run that reused a template also leaves a spare clone of it for the next
run, which takes it by renaming instead of cloning (a quarter of a second
of a warm start). The spare is marked with a digest of its template's
mark, so a spare of an older build is dropped, never used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from pytest_mockseed import __version__
from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.database import DatabaseJanitor
from pytest_mockseed.models import metadata
from pytest_mockseed.scenario import SentMessage, World
from pytest_mockseed.services.postgres import libpq_url

logger = logging.getLogger(__name__)

KEPT_PREFIX = "mockseed_kept_"
_MARK = "mockseed-template:"
_SPARE_MARK = "mockseed-spare:"


def template_key(settings: MockseedConfig, hook_sources: Sequence[str]) -> str:
    """A short hash of everything that shapes the template's rows.

    The anchor counts only when it was set explicitly: a kept world keeps
    the anchor of the run that built it (``--mockseed-recreate`` renews it).
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    schema = [
        str(CreateTable(table).compile(dialect=dialect))
        for table in metadata.sorted_tables
    ]
    anchor = settings.anchor if settings.source_of("anchor") != "default" else None
    options = [
        __version__,
        settings.seed_value,
        settings.events,
        settings.skip_default_setup,
        settings.extra_events,
        anchor.isoformat() if anchor else "",
    ]
    text = json.dumps([schema, options, list(hook_sources)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def kept_name(key: str, worker: str) -> str:
    """The kept template's database name for ``key``, one per xdist worker."""
    return f"{KEPT_PREFIX}{key}_{worker}"


def mark_ready(janitor: DatabaseJanitor, name: str, world: World) -> None:
    """Record that ``name`` is complete, with its world and row counts."""
    with psycopg.connect(libpq_url(janitor.url_of(name)), autocommit=True) as conn:
        counts = _counts(conn)
    payload = {"world": _world_to_json(world), "counts": counts}
    _set_comment(janitor, name, _MARK + json.dumps(payload))


def load_ready(janitor: DatabaseJanitor, name: str) -> World | None:
    """The world of a complete, intact kept template, or ``None`` to rebuild it."""
    comment = _comment_of(janitor, name)
    if comment is None:
        return None
    if not comment.startswith(_MARK):
        logger.info("reuse: %s was never marked ready; rebuilding it", name)
        return None

    payload = json.loads(comment.removeprefix(_MARK))
    with psycopg.connect(libpq_url(janitor.url_of(name)), autocommit=True) as conn:
        counts = _counts(conn)
    if counts != payload["counts"]:
        logger.info("reuse: %s changed since it was seeded; rebuilding it", name)
        return None
    return _world_from_json(payload["world"])


def claim_spare(janitor: DatabaseJanitor, template: str) -> str | None:
    """The URL of this run's working database, taken from the spare; or ``None``."""
    spare = spare_name(template)
    comment = _comment_of(janitor, spare)
    if comment is None or not comment.startswith(_SPARE_MARK):
        return None  # no spare, or one still being made (or a dead run's)
    if comment != _spare_mark(janitor, template):
        logger.info("reuse: %s was cloned from an older template; dropping it", spare)
        janitor.adopt(spare)
        janitor.drop(spare)
        return None

    return janitor.take(spare, janitor.new_name("work"))


def make_spare(janitor: DatabaseJanitor, template: str) -> None:
    """Clone ``template`` for the next run; a failure only costs it the clone."""
    spare = spare_name(template)
    try:
        mark = _spare_mark(janitor, template)
        janitor.create(spare, template=template)
        janitor.release(spare)
        _set_comment(janitor, spare, mark)
    except psycopg.Error as error:
        logger.info("reuse: no spare clone for the next run: %s", error)


def spare_name(template: str) -> str:
    """The spare clone's name: kept beside its template, dropped with it."""
    return f"{template}_spare"


def _spare_mark(janitor: DatabaseJanitor, template: str) -> str:
    digest = hashlib.sha256((_comment_of(janitor, template) or "").encode())
    return _SPARE_MARK + digest.hexdigest()[:16]


def _set_comment(janitor: DatabaseJanitor, name: str, comment: str) -> None:
    with psycopg.connect(libpq_url(janitor.admin_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(comment)
            )
        )


def _comment_of(janitor: DatabaseJanitor, name: str) -> str | None:
    """The database's comment; "" when it exists unmarked, None when absent."""
    with psycopg.connect(libpq_url(janitor.admin_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') "
            "FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return None if row is None else str(row[0])


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    for table in metadata.sorted_tables:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            row = (-1,)
        counts[table.name] = int(row[0]) if row else -1
    return counts


def _world_to_json(world: World) -> dict[str, Any]:
    fields = dataclasses.asdict(world)
    fields["anchor"] = world.anchor.isoformat()
    return fields


def _world_from_json(fields: dict[str, Any]) -> World:
    tuples = (
        "member_ids",
        "team_ids",
        "project_ids",
        "project_names",
        "alert_rule_ids",
    )
    values: dict[str, Any] = dict(fields)
    values.update({name: tuple(fields[name]) for name in tuples})
    values["sent"] = tuple(SentMessage(**message) for message in fields["sent"])
    values["anchor"] = datetime.fromisoformat(fields["anchor"])
    return World(**values)
