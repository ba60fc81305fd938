"""Keep the seeded template between runs, and never trust a stale or broken one.

A kept template is named after a key: a hash of the schema, the package
version, the seeding options and the ``pytest_mockseed_seed`` hooks, so a
change to any of them builds a new one by itself. The template is marked
ready only after its seeding committed, with a database comment (which
clones do not inherit) that holds the world and the row count of every
table; a template without the mark, or whose counts differ, is rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
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


def kept_name(key: str) -> str:
    """The kept template's database name for ``key`` (one per xdist worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{KEPT_PREFIX}{key}_{worker}"


def mark_ready(janitor: DatabaseJanitor, name: str, world: World) -> None:
    """Record that ``name`` is complete, with its world and row counts."""
    url = libpq_url(janitor.url_of(name))
    with psycopg.connect(url, autocommit=True) as conn:
        payload = {"world": _world_to_json(world), "counts": _counts(conn)}
        comment = _MARK + json.dumps(payload)
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(comment)
            )
        )


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
