"""A Kafka-protocol broker in a container: Tansu, Apache Kafka or Confluent's."""

from __future__ import annotations

import logging
import socket
import struct
import time
from typing import Any

from pytest_mockseed.services.docker import containers, engine
from pytest_mockseed.services.handles import KafkaHandle

logger = logging.getLogger(__name__)

KAFKA_READY_TIMEOUT = 120.0
KAFKA_PORT = 9092

# Fixed, valid KRaft cluster id (22 characters of base64): one broker, one run.
_KAFKA_CLUSTER_ID = "bW9ja3NlZWQtY2x1c3Rlcg"


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
    with containers.one_error_type(engine.KAFKA, image):
        client_kw = engine.client_settings(engine.KAFKA)
        engine.prepare_image(client_kw, image, engine.KAFKA)
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
        stop=containers.remover(container, f"Kafka container ({image})"),
        exit_reason=lambda: containers.exit_reason(container),
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
    return containers.with_labels(container, "kafka"), host


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
            with containers.removed_on_failure(container):
                container.start()
                _wait_for_kafka(
                    container, host, port, apache=_kafka_flavour(image) == "apache"
                )
        except Exception as error:
            text = " ".join(str(item) for item in engine.exception_chain(error)).lower()
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
    with containers.removed_on_failure(container):
        containers.with_labels(container.with_kraft(), "kafka")
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
        containers.raise_if_exited(container)
        if apache and b"Kafka Server started" not in b"".join(container.get_logs()):
            time.sleep(containers.POLL_INTERVAL)
            continue
        try:
            _api_versions(host, port)
            return
        except OSError as error:
            last_error = engine.first_line(str(error)) or type(error).__name__
            time.sleep(containers.POLL_INTERVAL)
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
