"""The Docker rung: what we send to the engine, and what a real engine gives back.

Two kinds of tests live here. Those using ``fake_engine`` replace the docker
SDK's client (``docker.from_env``) with a fake, because no engine can be
assumed on a developer's machine; our module and testcontainers above that
boundary run for real. Those using ``live_engine`` run against the engine
``DOCKER_HOST`` names (in CI: podman, started by ``scripts/docker-engine``)
with the locally built images, and are skipped when none answers.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import pytest
import requests
from docker.errors import DockerException

from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services import docker as rung
from pytest_mockseed.services.docker import engine, kafka, postgres

if TYPE_CHECKING:
    from conftest import FakeEngine

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "docker-engine"
OurContainers = Callable[..., list[str]]

# ---------------------------------------------------------------- ping, faked or local


def test_ping_without_socket_answers_no_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "_DEFAULT_SOCKET", str(tmp_path / "docker.sock"))
    clients: list[object] = []
    monkeypatch.setattr(docker, "from_env", lambda **kw: clients.append(kw))

    ping = rung.ping_engine()

    assert not ping.available
    assert ping.reason == f"no socket at {tmp_path / 'docker.sock'}"
    assert "DOCKER_HOST unset" in ping.checked
    assert clients == [], "the SDK was asked although no socket exists"


def test_ping_of_a_dead_socket_says_nothing_listens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))  # the file stays; nobody listens once closed
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")

    ping = rung.ping_engine()

    assert not ping.available
    assert ping.checked == f"DOCKER_HOST=unix://{path}"
    assert "nothing listens" in ping.reason


def test_ping_of_a_hanging_engine_is_bounded_by_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A socket that accepts (the kernel does, from the backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")

        started = time.perf_counter()
        ping = rung.ping_engine(timeout=0.5)
        elapsed = time.perf_counter() - started

    assert not ping.available
    assert ping.reason == "no answer within 0.5 s"
    assert elapsed < 3


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(
            DockerException("Error while fetching server API version: boom"),
            "Error while fetching server API version: boom",
            id="sdk-error",
        ),
        pytest.param(
            requests.exceptions.ConnectionError("Connection aborted: boom"),
            "Connection aborted: boom",
            id="requests-error",
        ),
        pytest.param(PermissionError(13, "denied"), "permission denied", id="os-error"),
        pytest.param(
            requests.exceptions.ReadTimeout("Read timed out. (read timeout=2.0)"),
            "no answer within 2 s",
            id="timeout",
        ),
    ],
)
def test_ping_never_raises(
    fake_engine: FakeEngine, error: Exception, reason: str
) -> None:
    """Whatever the client raises, the answer is "no" with a reason (client faked)."""
    fake_engine.ping_error = error

    ping = rung.ping_engine()

    assert not ping.available
    assert reason in ping.reason
    assert ping.checked == "DOCKER_HOST=tcp://fake-engine.invalid:2375"


def test_ping_reports_the_engines_api_version(fake_engine: FakeEngine) -> None:
    ping = rung.ping_engine()

    assert ping == rung.EnginePing(
        True, "DOCKER_HOST=tcp://fake-engine.invalid:2375", "", "1.41"
    )
    assert fake_engine.closed_clients == 1


def test_no_engine_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'none.sock'}")

    with pytest.raises(ServiceUnavailable) as raised:
        rung.start_postgres(rung.LOCAL_PG_IMAGE)

    message = str(raised.value)
    assert message.startswith(
        "PostgreSQL in Docker: no Docker engine answers: no socket at"
    )
    assert f"DOCKER_HOST=unix://{tmp_path / 'none.sock'}" in message
    assert "--mockseed-services=local" in message


# ---------------------------------------------------------------- what reaches testcontainers


def test_missing_image_fails_fast_naming_the_option(fake_engine: FakeEngine) -> None:
    """Not local and no registry (client faked): nothing is created."""
    with pytest.raises(ServiceUnavailable) as raised:
        rung.start_kafka(rung.DEFAULT_KAFKA_IMAGE)

    message = str(raised.value)
    assert message.startswith(
        f"Kafka image {rung.DEFAULT_KAFKA_IMAGE}: it is not on this engine and could not be "
        "pulled"
    )
    assert "--mockseed-kafka-image IMAGE (ini mockseed_kafka_image)" in message
    assert fake_engine.created == []


def test_postgres_goes_through_postgres_container(
    fake_engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What PostgresContainer sends (client faked; the login wait is replaced)."""
    fake_engine.local_images.add(rung.DEFAULT_PG_IMAGE)
    waited: list[object] = []
    monkeypatch.setattr(
        postgres, "_wait_for_postgres", lambda c: waited.append(c) or "15.10"
    )

    handle = rung.start_postgres(rung.DEFAULT_PG_IMAGE)

    [container] = fake_engine.created
    sent = container.kwargs
    assert sent["command"] == (
        "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    assert sent["environment"] == {
        "POSTGRES_USER": "mockseed",
        "POSTGRES_PASSWORD": "mockseed",
        "POSTGRES_DB": "mockseed",
    }
    assert sent["ports"] == {"5432": None}
    assert sent["labels"][rung.SESSION_LABEL] == rung.SESSION_ID
    assert len(waited) == 1
    port = fake_engine.mapped_port
    assert (
        handle.url
        == f"postgresql+psycopg://mockseed:mockseed@localhost:{port}/mockseed"
    )
    assert (handle.backend, handle.version, handle.address) == (
        "docker",
        "15.10",
        f"localhost:{port}",
    )
    handle.stop()
    assert container.removed


def test_apache_kafka_gets_a_kraft_node_advertising_the_mapped_port(
    fake_engine: FakeEngine,
    fake_broker: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The official image cannot be built here: check what we send for it (client faked).

    The broker's readiness probe runs for real against a fake broker that
    answers ApiVersions on the port we "picked".
    """
    image = rung.DEFAULT_KAFKA_IMAGE
    fake_engine.local_images.add(image)
    fake_engine.logs = b"[KafkaRaftServer nodeId=1] Kafka Server started\n"
    monkeypatch.setattr(kafka, "_free_port", lambda: fake_broker)
    monkeypatch.setenv(rung.NETWORK_MODE_ENV, "slirp4netns")

    handle = rung.start_kafka(image)

    [container] = fake_engine.created
    sent = container.kwargs
    assert container.image == image
    assert sent["command"] is None  # the image's own /etc/kafka/docker/run
    assert sent["ports"] == {str(rung.KAFKA_PORT): fake_broker}
    env = sent["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == (
        f"EXTERNAL://localhost:{fake_broker},BROKER://localhost:29092"
    )
    assert env["KAFKA_LISTENERS"].startswith("EXTERNAL://0.0.0.0:9092,")
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@localhost:29093"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert len(env["CLUSTER_ID"]) == 22
    assert sent["labels"][rung.SESSION_LABEL] == rung.SESSION_ID
    assert sent["labels"][rung.HOST_LABEL] == socket.gethostname()
    assert sent["name"].startswith(f"mockseed-kafka-{rung.SESSION_ID}-")
    assert sent["network_mode"] == "slirp4netns"
    assert {"version": "1.41"} in fake_engine.from_env_kwargs

    assert handle.bootstrap_servers == f"localhost:{fake_broker}"
    assert (handle.backend, handle.version) == ("docker", "3.9.1")
    assert handle.detail == f"image {image}"

    handle.stop()
    handle.stop()
    assert container.removed


def test_tansu_is_configured_through_its_own_variables(
    fake_engine: FakeEngine, fake_broker: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client faked; the readiness probe talks to a fake broker for real."""
    fake_engine.local_images.add(rung.LOCAL_TANSU_IMAGE)
    monkeypatch.setattr(kafka, "_free_port", lambda: fake_broker)

    handle = rung.start_kafka(rung.LOCAL_TANSU_IMAGE)

    [container] = fake_engine.created
    assert container.kwargs["environment"] == {
        "LISTENER_URL": "tcp://0.0.0.0:9092",
        "ADVERTISED_LISTENER_URL": f"tcp://localhost:{fake_broker}",
        "STORAGE_ENGINE": "memory://tansu/",
    }
    assert "network_mode" not in container.kwargs
    assert handle.version == "0.6.0-local"
    handle.stop()


def test_confluent_images_go_through_kafka_container(fake_engine: FakeEngine) -> None:
    """testcontainers' KafkaContainer is written for Confluent's images (client faked)."""
    image = "confluentinc/cp-kafka:7.6.0"
    fake_engine.local_images.add(image)
    fake_engine.logs = b"[KafkaServer id=1] Kafka Server started\n"

    handle = rung.start_kafka(image)

    [container] = fake_engine.created
    assert "/tc-start.sh" in container.kwargs["command"]
    assert container.kwargs["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert container.kwargs["ports"] == {"9093": None}
    assert container.kwargs["labels"][rung.SESSION_LABEL] == rung.SESSION_ID
    assert handle.bootstrap_servers == f"localhost:{fake_engine.mapped_port}"
    handle.stop()
    assert container.removed


def test_kafka_container_cannot_run_the_apache_image(fake_engine: FakeEngine) -> None:
    """Why Apache images do not go through KafkaContainer (client faked).

    If testcontainers starts to accept them, this fails: then reconsider.
    """
    from testcontainers.community.kafka import KafkaContainer

    with pytest.raises(ValueError, match="not supported in Kraft mode"):
        KafkaContainer(rung.DEFAULT_KAFKA_IMAGE).with_kraft()


@pytest.mark.parametrize("image", [rung.DEFAULT_PG_IMAGE, rung.DEFAULT_KAFKA_IMAGE])
def test_default_images_are_pinned_to_a_patch_release(image: str) -> None:
    """A floating tag would change the server under the suite without a commit."""
    assert re.fullmatch(r"[a-z/]+:\d+\.\d+(\.\d+)?", image)


# ---------------------------------------------------------------- a live engine


@pytest.mark.usefixtures("live_engine")
def test_postgres_container_runs_real_sql(our_containers: OurContainers) -> None:
    import sqlalchemy as sa

    handle = rung.start_postgres(rung.LOCAL_PG_IMAGE)
    try:
        assert handle.backend == "docker"
        assert handle.version.startswith("15.")
        assert handle.detail == f"image {rung.LOCAL_PG_IMAGE}"
        assert handle.url.startswith("postgresql+psycopg://mockseed:")
        assert handle.url.endswith(f"@{handle.address}/mockseed")
        assert len(our_containers()) == 1

        engine = sa.create_engine(handle.url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    sa.text("CREATE TABLE seeds (id int PRIMARY KEY, name text)")
                )
                conn.execute(
                    sa.text("INSERT INTO seeds VALUES (:id, :name)"),
                    [{"id": 1, "name": "org"}, {"id": 2, "name": "team"}],
                )
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT name FROM seeds ORDER BY id")).all()
                user = conn.execute(sa.text("SELECT current_user")).scalar_one()
        finally:
            engine.dispose()
        assert [row.name for row in rows] == ["org", "team"]
        assert user == "mockseed"
    finally:
        handle.stop()
    handle.stop()  # idempotent
    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
def test_tansu_container_round_trips_messages(our_containers: OurContainers) -> None:
    """Read back with assign() from offset 0 until every partition reports EOF.

    Tansu's high watermark is wrong (it counts batches), so "read up to the
    high watermark" would stop early; the EOF events carry the right ends.
    """
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    handle = rung.start_kafka(rung.LOCAL_TANSU_IMAGE)
    topic = f"mockseed-{uuid.uuid4().hex[:8]}"
    sent = [f"event-{n}".encode() for n in range(5)]
    try:
        producer = Producer({"bootstrap.servers": handle.bootstrap_servers})
        for value in sent:
            producer.produce(topic, key=b"k", value=value)
        assert producer.flush(15) == 0

        consumer = Consumer(
            {
                "bootstrap.servers": handle.bootstrap_servers,
                "group.id": "mockseed-test",
                "enable.partition.eof": True,
                "enable.auto.commit": False,
            }
        )
        try:
            partitions = (
                consumer.list_topics(topic, timeout=10).topics[topic].partitions
            )
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
            received, at_end = [], set()
            deadline = time.monotonic() + 20
            while at_end != set(partitions) and time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None:
                    continue
                if message.error():
                    assert message.error().code() == KafkaError._PARTITION_EOF
                    at_end.add(message.partition())
                else:
                    received.append(message.value())
        finally:
            consumer.close()
        assert sorted(received) == sorted(sent)
    finally:
        handle.stop()
    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
def test_a_container_that_ends_says_how(our_containers: OurContainers) -> None:
    """What ``mockseed up`` watches: a container killed behind our back."""
    import docker

    handle = rung.start_kafka(rung.LOCAL_TANSU_IMAGE)
    try:
        assert handle.exit_reason() is None
        [name] = our_containers()
        client = docker.from_env()
        try:
            client.containers.get(name).kill()
        finally:
            client.close()

        assert handle.exit_reason() == "the container exited with status 137"
    finally:
        handle.stop()
    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
def test_a_port_taken_before_the_broker_starts_is_replaced(
    monkeypatch: pytest.MonkeyPatch, our_containers: OurContainers
) -> None:
    """The host port is picked before the container starts; someone may take it."""
    free_port = kafka._free_port
    with socket.create_server(("0.0.0.0", 0)) as busy:
        taken = busy.getsockname()[1]
        picks = iter([taken])
        monkeypatch.setattr(
            kafka, "_free_port", lambda: next(picks, None) or free_port()
        )

        handle = rung.start_kafka(rung.LOCAL_TANSU_IMAGE)

    try:
        assert handle.bootstrap_servers != f"localhost:{taken}"
        assert len(our_containers()) == 1
    finally:
        handle.stop()
    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
@pytest.mark.parametrize(
    ("start", "option"),
    [
        pytest.param(rung.start_postgres, "--mockseed-pg-image", id="postgres"),
        pytest.param(rung.start_kafka, "--mockseed-kafka-image", id="kafka"),
    ],
)
def test_missing_image_fails_fast(
    start: Callable[[str], object], option: str, our_containers: OurContainers
) -> None:
    image = "mockseed-no-such-image:0"
    started = time.monotonic()

    with pytest.raises(ServiceUnavailable) as raised:
        start(image)

    message = str(raised.value)
    assert image in message
    assert "could not be pulled" in message
    assert option in message
    # An engine without a registry answers at once; podman retries a failed DNS
    # lookup a few times, which is as slow as a missing image can be here.
    assert time.monotonic() - started < 30
    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
def test_a_container_that_dies_is_reported_with_its_log_and_removed(
    our_containers: OurContainers,
) -> None:
    """Tansu's image given as PostgreSQL: the broker rejects the postgres command."""
    started = time.monotonic()

    with pytest.raises(ServiceUnavailable) as raised:
        rung.start_postgres(rung.LOCAL_TANSU_IMAGE)

    message = str(raised.value)
    assert message.startswith(
        f"PostgreSQL container ({rung.LOCAL_TANSU_IMAGE}): it did not"
    )
    assert "the container exited" in message
    assert "the container's log:" in message
    assert time.monotonic() - started < 20
    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
def test_an_interrupted_start_removes_its_container(
    monkeypatch: pytest.MonkeyPatch, our_containers: OurContainers
) -> None:
    """Ctrl-C while waiting for the server: the container goes, the interrupt stays."""

    def interrupted(container: object) -> str:
        assert len(our_containers()) == 1
        raise KeyboardInterrupt

    monkeypatch.setattr(postgres, "_wait_for_postgres", interrupted)

    with pytest.raises(KeyboardInterrupt):
        rung.start_postgres(rung.LOCAL_PG_IMAGE)

    assert our_containers() == []


@pytest.mark.usefixtures("live_engine")
def test_sweep_removes_orphans_and_spares_live_sessions(
    our_containers: OurContainers,
) -> None:
    import docker

    network = os.environ.get(rung.NETWORK_MODE_ENV) or None
    dead = f"{2**22 + 12345}-dead"  # above pid_max's default: no such process
    client = docker.from_env()
    try:
        for session in (dead, rung.SESSION_ID):
            client.containers.create(
                rung.LOCAL_TANSU_IMAGE,
                labels={
                    rung.SESSION_LABEL: session,
                    rung.HOST_LABEL: socket.gethostname(),
                },
                network_mode=network,
            )
    finally:
        client.close()

    assert rung.remove_labelled_containers() >= 1  # and any other dead session's
    assert our_containers(dead) == []
    assert len(our_containers()) == 1
    assert rung.remove_labelled_containers(rung.SESSION_ID) == 1
    assert our_containers() == []


def test_sweep_without_an_engine_does_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'none.sock'}")

    assert rung.remove_labelled_containers() == 0


# ---------------------------------------------------------------- the script


def _script(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
    )


def test_script_status_tells_whether_the_engine_runs() -> None:
    state = os.environ.get("MOCKSEED_DOCKER_STATE", "")

    status = _script("status")

    if state and rung.ping_engine().available:
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"state:   {state}" in status.stdout
        assert "api:     unix://" in status.stdout
        assert rung.LOCAL_PG_IMAGE in status.stdout
    else:
        assert status.returncode == 3
        assert "not running" in status.stdout


def test_script_status_of_a_foreign_directory(tmp_path: Path) -> None:
    status = _script("status", str(tmp_path))

    assert status.returncode == 3
    assert (
        status.stdout == f"not running: {tmp_path} is not an engine state directory\n"
    )


def test_script_refuses_to_stop_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "keep").write_text("mine")

    stopped = _script("stop", str(tmp_path))

    assert stopped.returncode == 1
    assert "not an engine state directory" in stopped.stderr
    assert (tmp_path / "keep").exists()


def _podman_ready() -> bool:
    """Whether the script would start at once, without installing anything."""
    if not shutil.which("dpkg-query"):
        return False
    wanted = ("podman", "runc", "slirp4netns", "busybox-static")
    query = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}\n", *wanted], capture_output=True, text=True
    )
    installed = query.stdout.count("install ok installed") == len(wanted)
    return installed and Path("/usr/lib/postgresql/15/bin/postgres").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the engine is rootful podman")
@pytest.mark.skipif(
    not _podman_ready(), reason="podman and its helpers are not installed"
)
def test_script_starts_an_engine_and_stops_it_without_a_trace(tmp_path: Path) -> None:
    """A second, private engine with one running container; stop leaves nothing.

    --no-build keeps it quick: the image builds are what the live tests above
    use, from the engine CI starts.
    """
    state = tmp_path / "engine"

    started = _script("start", str(state), "--no-build")
    try:
        _check_started_then_stop(started, state)
    finally:
        if state.exists():  # a failed check must not leave an engine running
            _script("stop", str(state))


def _check_started_then_stop(
    started: subprocess.CompletedProcess[str], state: Path
) -> None:
    assert started.returncode == 0, started.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in started.stdout.splitlines()
    )
    assert exports == {
        "DOCKER_HOST": f"unix://{state}/podman.sock",
        "CONTAINERS_CONF": f"{state}/containers.conf",
        "CONTAINERS_STORAGE_CONF": f"{state}/storage.conf",
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
        "TESTCONTAINERS_HOST_OVERRIDE": "localhost",
        "MOCKSEED_DOCKER_STATE": str(state),
        "MOCKSEED_DOCKER_NETWORK_MODE": "slirp4netns",
        "MOCKSEED_PG_IMAGE": "postgres:15-local",
        "MOCKSEED_KAFKA_IMAGE": "tansu:0.6.0-local",
    }
    assert "engine and images ready in" in started.stderr
    assert _script("status", str(state)).returncode == 0
    _run_a_sleeper({**os.environ, **exports})

    stopped = _script("stop", str(state))

    assert stopped.returncode == 0, stopped.stderr
    assert not state.exists()
    assert _processes_mentioning(str(state)) == []
    assert _processes_mentioning("mockseed-sleeper") == []
    assert _script("status", str(state)).returncode == 3


def _run_a_sleeper(env: dict[str, str]) -> None:
    """Import a one-file image (a static busybox) and leave a container running."""
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
    podman = ["podman", "--url", env["DOCKER_HOST"], "--remote"]
    subprocess.run(
        [*podman, "import", "-", "mockseed-sleeper:1"],
        input=archive.getvalue(),
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [
            *podman,
            "run",
            "-d",
            "--name",
            "mockseed-sleeper",
            "--network",
            "slirp4netns",
            "mockseed-sleeper:1",
            "/bin/busybox",
            "sleep",
            "300",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found
