"""Whether a Docker engine answers, and the image a service needs on it.

The ping is bounded: an engine that accepts connections but never answers
would block testcontainers for a minute. Every failure here is reported in
the user's terms: the option that names the image, and the way out to
local processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pytest_mockseed.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

DEFAULT_PG_IMAGE = "postgres:15.10"
DEFAULT_KAFKA_IMAGE = "apache/kafka:3.9.1"
LOCAL_PG_IMAGE = "postgres:15-local"
LOCAL_TANSU_IMAGE = "tansu:0.6.0-local"

_DEFAULT_SOCKET = "/var/run/docker.sock"
_PING_API_VERSION = "1.24"  # only builds the client; the ping itself is unversioned

LOCAL_REMEDY = (
    "or run without containers: --mockseed-services=local (ini mockseed_services)"
)


@dataclass(frozen=True)
class EnginePing:
    """Whether a Docker engine answered, what was tried, and why not.

    ``api_version`` is the API version the engine announced; clients made
    with it skip the ``/version`` request (about 0.4 s on podman 4.3).
    """

    available: bool
    checked: str
    reason: str
    api_version: str = ""


@dataclass(frozen=True)
class ImageOption:
    """How the user names the image of one service: shown in every remedy.

    ``example`` is an image this project's engine script builds locally.
    """

    service: str
    option: str
    ini: str
    example: str

    def remedy(self) -> str:
        """The way to point at another image."""
        return (
            f"point at an image this engine has: {self.option} IMAGE "
            f"(ini {self.ini}), e.g. {self.example}"
        )


PG = ImageOption(
    "PostgreSQL", "--mockseed-pg-image", "mockseed_pg_image", LOCAL_PG_IMAGE
)
KAFKA = ImageOption(
    "Kafka", "--mockseed-kafka-image", "mockseed_kafka_image", LOCAL_TANSU_IMAGE
)


def ping_engine(timeout: float = 2.0) -> EnginePing:
    """Ask the engine named by ``DOCKER_HOST`` (or the default socket) for a ping.

    It answers "no" without importing the SDK when a unix socket is missing
    or refuses (well under a millisecond), and within about ``timeout``
    seconds when something accepts the connection but never answers:
    testcontainers would wait 60 s there. It never raises.
    """
    address, checked = engine_address()
    if address.startswith("unix://"):
        problem = _unix_socket_problem(address.removeprefix("unix://"), timeout)
        if problem:
            return EnginePing(False, checked, problem)
    try:
        import docker
    except ImportError:
        return EnginePing(False, checked, "the docker package is not installed")

    try:
        # A fixed version keeps from_env() from asking the engine for one, so
        # the ping below is the only request and ``timeout`` bounds all of it.
        client = docker.from_env(version=_PING_API_VERSION, timeout=timeout)
        try:
            response = client.api.get(f"{client.api.base_url}/_ping", timeout=timeout)
        finally:
            client.close()
    # The SDK lets requests', urllib3's and the OS's errors through beside its own.
    except Exception as error:
        return EnginePing(False, checked, _why_unreachable(error, timeout))
    if response.status_code != 200:
        return EnginePing(
            False, checked, f"the ping was answered {response.status_code}"
        )
    return EnginePing(True, checked, "", str(response.headers.get("Api-Version", "")))


def _unix_socket_problem(path: str, timeout: float) -> str:
    """Why nothing can answer at ``path``, found without the SDK; "" if something listens.

    Cheaper than importing the SDK (0.15 s), and it closes its socket: the
    SDK's unix connection leaks one when the connect fails, which pytest
    reports as an error under ``-W error``.
    """
    if not os.path.exists(path):
        return f"no socket at {path}"
    if not stat.S_ISSOCK(os.stat(path).st_mode):
        return f"{path} is not a socket"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(path)
        except OSError as error:
            return _why_unreachable(error, timeout)
    return ""


def engine_address() -> tuple[str, str]:
    """The engine's address, and how it was chosen, for messages."""
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return host, f"DOCKER_HOST={host}"
    return (
        f"unix://{_DEFAULT_SOCKET}",
        f"default socket {_DEFAULT_SOCKET} (DOCKER_HOST unset)",
    )


def _why_unreachable(error: BaseException, timeout: float) -> str:
    chain = list(exception_chain(error))
    text = " ".join(str(item) for item in chain).lower()
    if (
        any(isinstance(item, ConnectionRefusedError) for item in chain)
        or "refused" in text
    ):
        return "connection refused: nothing listens there"
    if any(isinstance(item, PermissionError) for item in chain):
        return "permission denied on the socket"
    if any(isinstance(item, FileNotFoundError) for item in chain):
        return "the socket does not exist"
    if any(isinstance(item, TimeoutError) for item in chain) or "timed out" in text:
        return f"no answer within {timeout:g} s"
    return first_line(str(error))


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and its causes: the SDK wraps the OS's errors in its own."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def client_settings(service: ImageOption) -> dict[str, Any]:
    """Client settings for an engine that answers, or ServiceUnavailable."""
    ping = ping_engine()
    if not ping.available:
        raise ServiceUnavailable(
            f"{service.service} in Docker: no Docker engine answers",
            ping.reason,
            [ping.checked],
            ["start a Docker engine, or set DOCKER_HOST to one", LOCAL_REMEDY],
        )
    return {"version": ping.api_version or "auto"}


def prepare_image(client_kw: dict[str, Any], image: str, service: ImageOption) -> None:
    """Make sure the engine has ``image``, pulling it if it must."""
    import docker

    client = docker.from_env(**client_kw)
    try:
        _ensure_image(client, image, service)
    finally:
        client.close()


def _ensure_image(client: Any, image: str, service: ImageOption) -> None:
    """Use the local image, else pull it; fail fast and clearly when neither works."""
    from docker.errors import DockerException, ImageNotFound

    with contextlib.suppress(ImageNotFound):
        client.images.get(image)
        return
    logger.info("docker: pulling %s", image)
    try:
        client.images.pull(image)
    except DockerException as error:
        detail = getattr(error, "explanation", None) or str(error)
        raise ServiceUnavailable(
            f"{service.service} image {image}",
            f"it is not on this engine and could not be pulled ({first_line(detail)})",
            [
                f"the images of the engine at {engine_address()[0]}",
                f"a pull of {image}",
            ],
            [
                service.remedy(),
                f"or pull {image} where a registry is reachable",
                LOCAL_REMEDY,
            ],
        ) from None


def first_line(text: str) -> str:
    """The first line of an engine's message, cut to 300 characters."""
    return text.strip().splitlines()[0][:300] if text.strip() else ""
