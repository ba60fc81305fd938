"""PostgreSQL the user runs, and the URLs every rung hands out.

The other rungs start a server of their own: :mod:`.local_postgres` from
the machine's binaries, :mod:`.docker` in a container.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_mockseed.errors import ServiceUnavailable, mask_url
from pytest_mockseed.services.handles import PostgresHandle

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 5


def normalise_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver that SQLAlchemy should use."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """Return ``url`` in the plain form libpq and psycopg accept."""
    return "postgresql://" + normalise_url(url).removeprefix("postgresql+psycopg://")


def connect_to_url(url: str) -> PostgresHandle:
    """Use a server the user already runs, after checking it is usable."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT) as conn:
            version = server_version(conn)
            can_create = conn.execute(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
    except psycopg.Error as error:
        raise ServiceUnavailable(
            f"PostgreSQL at {mask_url(url)} (from --mockseed-db-url) is not usable",
            first_line(str(error)),
            [f"connected to {mask_url(url)} with a {CONNECT_TIMEOUT} s timeout"],
            [
                "check the host, port, user and password in the URL",
                "or drop --mockseed-db-url to let the plugin start its own server",
            ],
        ) from None

    if not can_create or not can_create[0]:
        raise ServiceUnavailable(
            f"PostgreSQL at {mask_url(url)} (from --mockseed-db-url) is not usable",
            "its user may not create databases, and the plugin works in databases "
            "of its own (mockseed_*) so that it never touches yours",
            ["pg_roles.rolcreatedb and rolsuper of the connecting user"],
            ["ALTER ROLE <user> CREATEDB, or use a user that has it"],
        )

    address = url.rpartition("@")[2].split("/")[0]
    return PostgresHandle(normalise_url(url), "url", version, address)


def server_version(conn: psycopg.Connection[Any]) -> str:
    """The server's version number, such as ``15.18``."""
    row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "unknown"


def first_line(text: str) -> str:
    """The first line of a server's message, for one-line errors."""
    return text.strip().splitlines()[0] if text.strip() else "no reason given"
