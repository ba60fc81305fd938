"""The one place that talks to a Docker engine: ping it, run containers, sweep them.

Only this module imports the docker SDK and testcontainers, and only inside
the functions that need them, so importing it costs nothing on a machine
without Docker. Whatever goes wrong on the way to a container (no engine, an
image that is neither local nor pullable, a container that dies while
starting) leaves here as one error type, :class:`ServiceUnavailable`, built
to say what to do next.

Every container started here carries two labels, the session
(``<pid>-<random>``) and the host, and the handle's ``stop`` removes it. The
labels let :func:`remove_labelled_containers` sweep what a crashed process
left behind, because users may run with testcontainers' reaper disabled.

``MOCKSEED_DOCKER_NETWORK_MODE``, when set, is the network mode every
container asks for. ``scripts/docker-engine`` sets it to ``slirp4netns``:
podman 4.3 would otherwise put containers on its bridge, which turns on IP
forwarding and writes firewall rules on the host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import stat
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services.handles import KafkaHandle, PostgresHandle

logger = logging.getLogger(__name__)

DEFAULT_PG_IMAGE = "postgres:15.10"
DEFAULT_KAFKA_IMAGE = "apache/kafka:3.9.1"
LOCAL_PG_IMAGE = "postgres:15-local"
LOCAL_TANSU_IMAGE = "tansu:0.6.0-local"

SESSION_LABEL = "org.pytest-mockseed.session"
HOST_LABEL = "org.pytest-mockseed.host"
SESSION_ID = f"{os.getpid()}-{secrets.token_hex(4)}"
NETWORK_MODE_ENV = "MOCKSEED_DOCKER_NETWORK_MODE"

PG_USER = PG_PASSWORD = PG_DB = "mockseed"
PG_READY_TIMEOUT = 60.0
KAFKA_READY_TIMEOUT = 120.0
KAFKA_PORT = 9092

_DEFAULT_SOCKET = "/var/run/docker.sock"
_PING_API_VERSION = "1.24"  # only builds the client; the ping itself is unversioned
_POLL_INTERVAL = 0.2
_LOG_TAIL_LINES = 15
# A test server need not survive a power cut; these make it several times faster.
_PG_FAST_COMMAND = (
    "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)
# Fixed, valid KRaft cluster id (22 characters of base64): one broker, one run.
_KAFKA_CLUSTER_ID = "bW9ja3NlZWQtY2x1c3Rlcg"


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
class _ImageOption:
    """How the user names the image of one service: shown in every remedy."""

    service: str
    option: str
    ini: str

    def remedy(self, example: str) -> str:
        return (
            f"point at an image this engine has: {self.option} IMAGE "
            f"(ini {self.ini}), e.g. {example}"
        )


_PG = _ImageOption("PostgreSQL", "--mockseed-pg-image", "mockseed_pg_image")
_KAFKA = _ImageOption("Kafka", "--mockseed-kafka-image", "mockseed_kafka_image")
_LOCAL_REMEDY = (
    "or run without containers: --mockseed-services=local (ini mockseed_services)"
)


# ---------------------------------------------------------------- the engine


def ping_engine(timeout: float = 2.0) -> EnginePing:
    """Ask the engine named by ``DOCKER_HOST`` (or the default socket) for a ping.

    It answers "no" without importing the SDK when a unix socket is missing
    or refuses (well under a millisecond), and within about ``timeout``
    seconds when something accepts the connection but never answers:
    testcontainers would wait 60 s there. It never raises.
    """
    address, checked = _engine_address()
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


def _engine_address() -> tuple[str, str]:
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return host, f"DOCKER_HOST={host}"
    return (
        f"unix://{_DEFAULT_SOCKET}",
        f"default socket {_DEFAULT_SOCKET} (DOCKER_HOST unset)",
    )


def _why_unreachable(error: BaseException, timeout: float) -> str:
    chain = list(_exception_chain(error))
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
    return _first_line(str(error))


def _exception_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _engine(service: _ImageOption) -> dict[str, Any]:
    """Client settings for an engine that answers, or ServiceUnavailable."""
    ping = ping_engine()
    if not ping.available:
        raise ServiceUnavailable(
            f"{service.service} in Docker: no Docker engine answers",
            ping.reason,
            [ping.checked],
            ["start a Docker engine, or set DOCKER_HOST to one", _LOCAL_REMEDY],
        )
    return {"version": ping.api_version or "auto"}


def _prepare_image(
    client_kw: dict[str, Any], image: str, service: _ImageOption, example: str
) -> None:
    import docker

    client = docker.from_env(**client_kw)
    try:
        _ensure_image(client, image, service, example)
    finally:
        client.close()


def _ensure_image(client: Any, image: str, service: _ImageOption, example: str) -> None:
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
            f"it is not on this engine and could not be pulled ({_first_line(detail)})",
            [
                f"the images of the engine at {_engine_address()[0]}",
                f"a pull of {image}",
            ],
            [
                service.remedy(example),
                f"or pull {image} where a registry is reachable",
                _LOCAL_REMEDY,
            ],
        ) from None


# ---------------------------------------------------------------- PostgreSQL


def start_postgres(image: str) -> PostgresHandle:
    """Run PostgreSQL from ``image`` with testcontainers and wait until it answers SQL.

    Readiness is a real login from this host through the mapped port, checked
    every 0.2 s, and a container that exits ends the wait at once (the stock
    wait of ``PostgresContainer`` polls ``psql`` inside it for two minutes).
    """
    with _one_error_type(_PG, image):
        client_kw = _engine(_PG)
        _prepare_image(client_kw, image, _PG, LOCAL_PG_IMAGE)
        container = _postgres_container(image, client_kw)
        with _removed_on_failure(container):
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
        stop=_remover(container, f"PostgreSQL container ({image})"),
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
    return _with_labels(container, "postgres")


def _wait_for_postgres(container: Any) -> str:
    """Return the server version once a login works; raise if the container dies."""
    import psycopg

    deadline = time.monotonic() + PG_READY_TIMEOUT
    last_error = "no attempt yet"
    _raise_if_exited(container)
    host = container.get_container_host_ip()
    port = int(container.get_exposed_port(5432))
    while time.monotonic() < deadline:
        _raise_if_exited(container)
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
            last_error = _first_line(str(error)) or type(error).__name__
            time.sleep(_POLL_INTERVAL)
            continue
        return str(row[0]).split()[0] if row else "unknown"
    raise TimeoutError(f"no login within {PG_READY_TIMEOUT:g} s (last: {last_error})")


# ---------------------------------------------------------------- Kafka


def start_kafka(image: str) -> KafkaHandle:
    """Run a Kafka-protocol broker from ``image`` and wait until it answers.

    A broker hands clients the address in its metadata, so it must know the
    host side of the port mapping before it starts. We pick a free host port
    first and bind it to the broker's port 9092 (``with_bind_ports``) rather
    than use host networking: port mapping is what every engine supports the
    same way, podman with slirp4netns included, and it leaves the host's
    ports alone but one.

    - Tansu (the image name contains "tansu"): its own settings, given as
      environment variables, with the mapped address advertised.
    - Confluent images (``cp-kafka``): testcontainers' ``KafkaContainer`` in
      KRaft mode, which is written for them.
    - Anything else, the official ``apache/kafka`` image first: a single
      KRaft node configured through the image's ``KAFKA_*`` variables.
      ``KafkaContainer`` cannot run it: its start script calls Confluent's
      files and ``with_kraft()`` rejects any tag below 7.0.0, which is every
      Apache release.
    """
    with _one_error_type(_KAFKA, image):
        client_kw = _engine(_KAFKA)
        _prepare_image(client_kw, image, _KAFKA, LOCAL_TANSU_IMAGE)
        if _kafka_flavour(image) == "confluent":
            container, bootstrap = _start_confluent(image, client_kw)
        else:
            container, bootstrap = _start_with_mapped_port(image, client_kw)

    logger.info("docker: Kafka from %s at %s", image, bootstrap)
    return KafkaHandle(
        bootstrap_servers=bootstrap,
        backend="docker",
        version=_image_tag(image),
        detail=f"image {image}",
        stop=_remover(container, f"Kafka container ({image})"),
    )


def _kafka_flavour(image: str) -> str:
    name = image.rsplit("/", 1)[-1].lower()
    if "tansu" in name:
        return "tansu"
    if "cp-kafka" in name:
        return "confluent"
    return "apache"


def _kafka_container(
    image: str, host_port: int, client_kw: dict[str, Any]
) -> tuple[Any, str]:
    """The container of a Tansu or Apache broker, and the host it advertises.

    The host is the one testcontainers itself connects to, so clients given
    the advertised address reach the broker the same way.
    """
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image, docker_client_kw=client_kw)
    container.with_bind_ports(KAFKA_PORT, host_port)
    host = str(container.get_docker_client().host())
    if _kafka_flavour(image) == "tansu":
        container.with_envs(
            LISTENER_URL=f"tcp://0.0.0.0:{KAFKA_PORT}",
            ADVERTISED_LISTENER_URL=f"tcp://{host}:{host_port}",
            STORAGE_ENGINE="memory://tansu/",
        )
    else:
        container.with_envs(**_apache_kafka_env(host, host_port))
    return _with_labels(container, "kafka"), host


def _apache_kafka_env(host: str, host_port: int) -> dict[str, str]:
    """One KRaft node: clients use EXTERNAL, the node talks to itself on BROKER."""
    return {
        "CLUSTER_ID": _KAFKA_CLUSTER_ID,
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": (
            f"EXTERNAL://0.0.0.0:{KAFKA_PORT},BROKER://0.0.0.0:29092,"
            "CONTROLLER://0.0.0.0:29093"
        ),
        "KAFKA_ADVERTISED_LISTENERS": f"EXTERNAL://{host}:{host_port},BROKER://localhost:29092",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
            "EXTERNAL:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:29093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }


def _start_with_mapped_port(image: str, client_kw: dict[str, Any]) -> tuple[Any, str]:
    """Start a Tansu or Apache broker; retry when the picked port was taken meanwhile."""
    attempts = 3
    for attempt in range(1, attempts + 1):
        port = _free_port()
        container, host = _kafka_container(image, port, client_kw)
        try:
            with _removed_on_failure(container):
                container.start()
                _wait_for_kafka(
                    container, host, port, apache=_kafka_flavour(image) == "apache"
                )
        except Exception as error:
            text = " ".join(str(item) for item in _exception_chain(error)).lower()
            taken = "address already in use" in text or "already allocated" in text
            if attempt < attempts and taken:
                logger.debug("docker: port %s was taken; trying another", port)
                continue
            raise
        return container, f"{host}:{port}"
    raise AssertionError("unreachable")  # pragma: no cover


def _start_confluent(image: str, client_kw: dict[str, Any]) -> tuple[Any, str]:
    from testcontainers.community.kafka import KafkaContainer

    container = KafkaContainer(image, docker_client_kw=client_kw)
    with _removed_on_failure(container):
        _with_labels(container.with_kraft(), "kafka")
        container.start(timeout=int(KAFKA_READY_TIMEOUT))
        return container, str(container.get_bootstrap_server())


def _wait_for_kafka(container: Any, host: str, port: int, *, apache: bool) -> None:
    """Wait until the broker answers an ApiVersions request through the mapped port.

    A TCP connect alone proves nothing: a user-space port forwarder accepts
    before the broker listens. The Apache broker also has to log that it
    started, since it answers on its socket a little before it can serve.
    """
    deadline = time.monotonic() + KAFKA_READY_TIMEOUT
    last_error = "no attempt yet"
    while time.monotonic() < deadline:
        _raise_if_exited(container)
        if apache and b"Kafka Server started" not in b"".join(container.get_logs()):
            time.sleep(_POLL_INTERVAL)
            continue
        try:
            _api_versions(host, port)
            return
        except OSError as error:
            last_error = _first_line(str(error)) or type(error).__name__
            time.sleep(_POLL_INTERVAL)
    raise TimeoutError(
        f"no Kafka answer within {KAFKA_READY_TIMEOUT:g} s (last: {last_error})"
    )


def _api_versions(host: str, port: int, timeout: float = 2.0) -> None:
    """Send an ApiVersions v0 request and read the answer's header, or raise OSError."""
    correlation = 7
    client_id = b"mockseed"
    request = struct.pack(">hhih", 18, 0, correlation, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(struct.pack(">i", len(request)) + request)
        header = _read_exactly(conn, 8)
    # Any answer to our request proves a broker speaks Kafka there, even an error
    # code for a version it no longer supports.
    _size, answered = struct.unpack(">ii", header)
    if answered != correlation:
        raise ConnectionError(f"answer to request {answered}, not {correlation}")


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def _image_tag(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


# ---------------------------------------------------------------- containers


def _with_labels(container: Any, kind: str) -> Any:
    """Label and name the container, and ask for the configured network mode."""
    kwargs: dict[str, Any] = {
        "labels": {SESSION_LABEL: SESSION_ID, HOST_LABEL: _hostname()}
    }
    network_mode = os.environ.get(NETWORK_MODE_ENV, "").strip()
    if network_mode:
        kwargs["network_mode"] = network_mode
    container.with_kwargs(**kwargs)
    container.with_name(f"mockseed-{kind}-{SESSION_ID}-{secrets.token_hex(2)}")
    return container


def _hostname() -> str:
    return socket.gethostname()


def _exit_code(container: Any) -> int | None:
    """The container's exit status once it has stopped; None while it lives."""
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    # podman says "stopped" for a moment before "exited"
    if wrapped.status not in ("exited", "dead", "stopped"):
        return None
    return int(wrapped.attrs.get("State", {}).get("ExitCode", -1))


def _raise_if_exited(container: Any) -> None:
    code = _exit_code(container)
    if code is not None:
        raise RuntimeError(f"the container exited with status {code}")


def _log_tail(container: Any) -> str:
    with contextlib.suppress(Exception):
        lines = b"".join(container.get_logs()).decode(errors="replace").splitlines()
        return "\n    ".join(lines[-_LOG_TAIL_LINES:])
    return "(no logs)"


@contextlib.contextmanager
def _removed_on_failure(container: Any) -> Iterator[None]:
    """Remove ``container`` if the block fails, keeping its last log lines in the error."""
    try:
        yield
    except BaseException as error:
        if not _was_created(container):
            _close_client(container)
            raise
        if not isinstance(error, Exception):  # Ctrl-C: remove it, then let that through
            with contextlib.suppress(Exception):
                container.stop()
            raise
        why = _first_line(str(error)) or type(error).__name__
        with contextlib.suppress(Exception):
            code = _exit_code(container)
            if code is not None:  # the stock waits then say only "not running"
                why = f"the container exited with status {code}"
        tail = _log_tail(container)
        with contextlib.suppress(Exception):
            container.stop()
        raise _StartFailed(why, tail) from error


def _close_client(container: Any) -> None:
    with contextlib.suppress(Exception):
        container.get_docker_client().client.close()


def _was_created(container: Any) -> bool:
    try:
        container.get_wrapped_container()
    except Exception:  # testcontainers: ContainerStartException before create()
        return False
    return True


class _StartFailed(Exception):
    """A container did not become ready; carries the tail of its log."""

    def __init__(self, why: str, log_tail: str) -> None:
        super().__init__(why)
        self.why = why
        self.log_tail = log_tail


@contextlib.contextmanager
def _one_error_type(service: _ImageOption, image: str) -> Iterator[None]:
    """Turn whatever the SDK or testcontainers raise into ServiceUnavailable."""
    example = LOCAL_PG_IMAGE if service is _PG else LOCAL_TANSU_IMAGE
    remedies = [service.remedy(example), _LOCAL_REMEDY]
    try:
        yield
    except ServiceUnavailable:
        raise
    except _StartFailed as error:
        raise ServiceUnavailable(
            f"{service.service} container ({image})",
            f"it did not become ready: {error.why}",
            [
                f"the engine at {_engine_address()[0]}",
                f"the container's log:\n    {error.log_tail}",
            ],
            remedies,
        ) from error
    except Exception as error:
        raise ServiceUnavailable(
            f"{service.service} container ({image})",
            f"it could not be started: {_first_line(str(error)) or type(error).__name__}",
            [f"the engine at {_engine_address()[0]}"],
            remedies,
        ) from error


def _remover(container: Any, what: str) -> Callable[[], None]:
    """A ``stop`` that removes the container once; later calls do nothing."""
    removed = False

    def stop() -> None:
        nonlocal removed
        if removed:
            return
        from docker.errors import NotFound

        try:
            container.get_wrapped_container().remove(force=True, v=True)
        except NotFound:
            pass  # removed by someone else: what stop() wants anyway
        except Exception as error:
            raise ServiceUnavailable(
                what,
                f"it could not be removed: {_first_line(str(error))}",
                [],
                [f"remove it by hand: docker rm -f {container.get_container_id()}"],
            ) from error
        finally:
            _close_client(container)
        removed = True
        logger.debug("docker: removed %s", what)

    return stop


def remove_labelled_containers(session_label: str | None = None) -> int:
    """Remove containers of a pytest-mockseed session; return how many went.

    With a ``session_label`` (a value of :data:`SESSION_LABEL`, such as
    :data:`SESSION_ID`), every container of that session goes. Without one,
    the orphans go: containers labelled on this host by a process that no
    longer runs, as a crashed xdist worker leaves them. Containers of live
    processes, and of other hosts sharing the engine, are left alone.

    Cleanup must not hide a test's own error, so this never raises: an
    engine that does not answer means there is nothing it could sweep.
    """
    ping = ping_engine()
    if not ping.available:
        return 0
    import docker

    removed = 0
    try:
        client = docker.from_env(version=ping.api_version or "auto")
    except Exception as error:
        logger.warning("docker: cannot sweep containers: %s", error)
        return 0
    try:
        wanted = f"{SESSION_LABEL}={session_label}" if session_label else SESSION_LABEL
        for container in client.containers.list(all=True, filters={"label": wanted}):
            if session_label is None and not _is_orphan(container.labels):
                continue
            try:
                container.remove(force=True, v=True)
                removed += 1
            except Exception as error:
                logger.warning("docker: could not remove %s: %s", container.name, error)
    except Exception as error:
        logger.warning("docker: cannot sweep containers: %s", error)
    finally:
        client.close()
    logger.debug(
        "docker: swept %d container(s) of %s", removed, session_label or "dead sessions"
    )
    return removed


def _is_orphan(labels: dict[str, str]) -> bool:
    if labels.get(HOST_LABEL) != _hostname():
        return False
    pid_text = labels.get(SESSION_LABEL, "").split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""
