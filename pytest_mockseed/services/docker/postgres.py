"""PostgreSQL in a container, ready when a login from this host works."""

from __future__ import annotations

import logging
import time
from typing import Any

from pytest_mockseed.services.docker import containers, engine
from pytest_mockseed.services.handles import PostgresHandle

logger = logging.getLogger(__name__)

PG_USER = PG_PASSWORD = PG_DB = "mockseed"
PG_READY_TIMEOUT = 60.0

# A test server need not survive a power cut; these make it several times faster.
_PG_FAST_COMMAND = (
    "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)


def start_postgres(image: str) -> PostgresHandle:
    """Run PostgreSQL from ``image`` with testcontainers and wait until it answers SQL.

    Readiness is a real login from this host through the mapped port, checked
    every 0.2 s, and a container that exits ends the wait at once (the stock
    wait of ``PostgresContainer`` polls ``psql`` inside it for two minutes).
    """
    with containers.one_error_type(engine.PG, image):
        client_kw = engine.client_settings(engine.PG)
        engine.prepare_image(client_kw, image, engine.PG)
        container = _postgres_container(image, client_kw)
        with containers.removed_on_failure(container):
            container.start()
            host = container.get_container_host_ip()
            port = int(container.get_exposed_port(5432))
            url = container.get_connection_url()
            version = container.server_version

    logger.info("docker: PostgreSQL %s from %s at %s:%s", version, image, host, port)
    return PostgresHandle(
        url=url,
        backend="docker",
        version=version,
        address=f"{host}:{port}",
        detail=f"image {image}",
        stop=containers.remover(container, f"PostgreSQL container ({image})"),
        exit_reason=lambda: containers.exit_reason(container),
    )


def _postgres_container(image: str, client_kw: dict[str, Any]) -> Any:
    from testcontainers.community.postgres import PostgresContainer

    class _ReadyPostgres(PostgresContainer):
        server_version = ""

        def _connect(self) -> None:
            self.server_version = _wait_for_postgres(self)

    container = _ReadyPostgres(
        image,
        username=PG_USER,
        password=PG_PASSWORD,
        dbname=PG_DB,
        driver="psycopg",
        docker_client_kw=client_kw,
    )
    container.with_command(_PG_FAST_COMMAND)
    return containers.with_labels(container, "postgres")


def _wait_for_postgres(container: Any) -> str:
    """Return the server version once a login works; raise if the container dies."""
    import psycopg

    deadline = time.monotonic() + PG_READY_TIMEOUT
    last_error = "no attempt yet"
    containers.raise_if_exited(container)
    host = container.get_container_host_ip()
    port = int(container.get_exposed_port(5432))
    while time.monotonic() < deadline:
        containers.raise_if_exited(container)
        try:
            with psycopg.connect(
                host=host,
                port=port,
                user=PG_USER,
                password=PG_PASSWORD,
                dbname=PG_DB,
                connect_timeout=2,
            ) as conn:
                row = conn.execute(
                    "SELECT current_setting('server_version')"
                ).fetchone()
        except (psycopg.Error, OSError) as error:
            last_error = engine.first_line(str(error)) or type(error).__name__
            time.sleep(containers.POLL_INTERVAL)
            continue
        return str(row[0]).split()[0] if row else "unknown"
    raise TimeoutError(f"no login within {PG_READY_TIMEOUT:g} s (last: {last_error})")
