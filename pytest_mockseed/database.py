"""Databases of our own: the seeded template, its clones, and per-test transactions.

The plugin never works in a database it did not create. It seeds a template
database once, clones it into a working database for the tests that roll
back, and clones it again for every test that asks for a database of its
own. Every name starts with ``mockseed_`` and every database this module
created is dropped by :meth:`DatabaseJanitor.drop_all`; nothing else is.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import socket
from collections.abc import Iterator

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pytest_mockseed.services.postgres import libpq_url

logger = logging.getLogger(__name__)

PREFIX = "mockseed_"


class DatabaseJanitor:
    """Creates, clones and drops the databases of one run on one server.

    ``admin_url`` points at a database the janitor may connect to while it
    creates others (``postgres`` by default); it is never written to.
    """

    def __init__(self, admin_url: str, run_id: str | None = None) -> None:
        self.admin_url = admin_url
        self.run_id = run_id or f"{os.getpid()}_{secrets.token_hex(3)}"
        self.created: list[str] = []
        self._counter = itertools.count(1)

    def new_name(self, role: str) -> str:
        """Return a fresh database name of ours, e.g. ``mockseed_123_ab12_t4``."""
        return f"{PREFIX}{self.run_id}_{role}{next(self._counter)}"

    def url_of(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name`` on the same server."""
        return (
            make_url(self.admin_url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    def create(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (cloned from ``template``) and return its URL."""
        _check_ours(name)
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL(
                "CREATE DATABASE {} TEMPLATE {} STRATEGY wal_log"
            ).format(sql.Identifier(name), sql.Identifier(template))

        self.created.append(name)
        try:
            self._execute(statement)
            self._mark_owned(name)
        except BaseException:
            self.created.remove(name)
            raise
        logger.debug("database: created %s from %s", name, template or "template1")
        return self.url_of(name)

    def take(self, name: str, new_name: str) -> str | None:
        """Rename ``name``, a database of ours that nobody uses, into this run.

        Return its URL under ``new_name``, or ``None`` when it is gone or in
        use: a rename either happens whole or not at all, so when two runs
        reach for the same database, one gets it and the other learns so.
        """
        _check_ours(name)
        _check_ours(new_name)
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(name), sql.Identifier(new_name)
        )
        try:
            self._execute(rename)
        except (psycopg.errors.InvalidCatalogName, psycopg.errors.ObjectInUse):
            return None

        self.created.append(new_name)
        self._mark_owned(new_name)
        logger.debug("database: took %s as %s", name, new_name)
        return self.url_of(new_name)

    def drop(self, name: str) -> None:
        """Drop database ``name``, which this janitor must have created."""
        if name not in self.created:
            raise ValueError(f"refusing to drop {name!r}: this run did not create it")

        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)
        )
        self._execute(statement)
        self.created.remove(name)
        logger.debug("database: dropped %s", name)

    def adopt(self, name: str) -> None:
        """Take charge of ``name``, a database of ours a previous run left."""
        _check_ours(name)
        if name not in self.created:
            self.created.append(name)

    def release(self, name: str) -> None:
        """Stop tracking ``name``: it is kept after this run (``--mockseed-reuse``)."""
        self.created.remove(name)

    def sweep_stale(self) -> list[str]:
        """Drop the databases that runs on this host left when they were killed.

        Only databases whose comment names a run of this host that is dead
        are dropped; a database without our mark, or of a live run, or of
        another host, is never touched.
        """
        from pytest_mockseed.services import stale

        swept = []
        with psycopg.connect(libpq_url(self.admin_url), autocommit=True) as conn:
            for name, comment in conn.execute(_MARKED_DATABASES, (_OWNER_MARK + "%",)):
                host, _, token = comment.removeprefix(_OWNER_MARK).partition(" ")
                if host == socket.gethostname() and not stale.token_alive(token):
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                    swept.append(name)
        if swept:
            logger.info("database: removed %s, left by runs that were killed", swept)
        return swept

    def drop_all(self) -> list[str]:
        """Drop every database this janitor created; return the failures met."""
        problems = []
        for name in reversed(list(self.created)):
            try:
                self.drop(name)
            except psycopg.Error as error:
                problems.append(f"{name}: {error}")
        return problems

    def _mark_owned(self, name: str) -> None:
        """Name this run in the comment, so a sweep knows whose it is."""
        self._execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(_OWNER_MARK + _owner())
            )
        )

    def _execute(self, statement: sql.Composed) -> None:
        with psycopg.connect(libpq_url(self.admin_url), autocommit=True) as conn:
            conn.execute(statement)


_OWNER_MARK = "mockseed-owner:"
_MARKED_DATABASES = (
    "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
    "WHERE datname LIKE 'mockseed\\_%%' AND shobj_description(oid, 'pg_database') LIKE %s"
)


def _owner() -> str:
    from pytest_mockseed.services import stale

    return f"{socket.gethostname()} {stale.owner_token()}"


def _check_ours(name: str) -> None:
    if not name.startswith(PREFIX):
        raise ValueError(
            f"refusing to touch {name!r}: only {PREFIX}* databases are ours"
        )


def engine_for(url: str) -> Engine:
    """An engine for one of our databases; small pool, no leaked connections."""
    return create_engine(url, pool_size=2, max_overflow=8, pool_pre_ping=False)


@contextlib.contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back, whatever the test does.

    The session joins the outer transaction through savepoints, so a test
    that calls ``session.commit()`` (or ``rollback()``) still leaves
    nothing behind once the outer transaction rolls back.
    """
    connection: Connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        if outer.is_active:
            outer.rollback()
        connection.close()
