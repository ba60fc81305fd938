"""The Docker rung: ping an engine, run containers, sweep them.

Only this package imports the docker SDK and testcontainers, and only inside
the functions that need them, so importing it costs nothing on a machine
without Docker. Whatever goes wrong on the way to a container (no engine, an
image that is neither local nor pullable, a container that dies while
starting) leaves here as one error type, :class:`ServiceUnavailable`, built
to say what to do next.

- :mod:`.engine`: whether an engine answers, and the image a service needs;
- :mod:`.containers`: labels, readiness failures and removal of containers;
- :mod:`.postgres` and :mod:`.kafka`: one service each.

``MOCKSEED_DOCKER_NETWORK_MODE``, when set, is the network mode every
container asks for. ``scripts/docker-engine`` sets it to ``slirp4netns``:
podman 4.3 would otherwise put containers on its bridge, which turns on IP
forwarding and writes firewall rules on the host.
"""

from __future__ import annotations

from pytest_mockseed.services.docker.containers import (
    HOST_LABEL,
    NETWORK_MODE_ENV,
    SESSION_ID,
    SESSION_LABEL,
    remove_labelled_containers,
)
from pytest_mockseed.services.docker.engine import (
    DEFAULT_KAFKA_IMAGE,
    DEFAULT_PG_IMAGE,
    LOCAL_PG_IMAGE,
    LOCAL_TANSU_IMAGE,
    EnginePing,
    ping_engine,
)
from pytest_mockseed.services.docker.kafka import KAFKA_PORT, start_kafka
from pytest_mockseed.services.docker.postgres import start_postgres

__all__ = [
    "DEFAULT_KAFKA_IMAGE",
    "DEFAULT_PG_IMAGE",
    "HOST_LABEL",
    "KAFKA_PORT",
    "LOCAL_PG_IMAGE",
    "LOCAL_TANSU_IMAGE",
    "NETWORK_MODE_ENV",
    "SESSION_ID",
    "SESSION_LABEL",
    "EnginePing",
    "ping_engine",
    "remove_labelled_containers",
    "start_kafka",
    "start_postgres",
]
