"""Fixtures for the Docker rung: a fake engine at the SDK's boundary, and a live one.

No Docker engine can be assumed on a developer's machine, so one half of the
tests replaces ``docker.from_env`` with a fake client; everything above it
(our module and testcontainers) runs for real. The other half needs a live
engine, as CI provides with ``eval "$(scripts/docker-engine start)"``, and is
skipped with the reason when none answers.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_mockseed.services import docker as rung

FAKE_API_VERSION = "1.41"


# ---------------------------------------------------------------- the fake engine


class FakeResponse:
    def __init__(self, status_code: int, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.headers = headers


class FakeContainer:
    """What the SDK's ``containers.create`` returns, as far as we and testcontainers use it."""

    def __init__(self, image: str, kwargs: dict[str, Any], logs: bytes) -> None:
        self.image = image
        self.kwargs = kwargs
        self.id = "c0ffee" * 10 + "beef"
        self.short_id = self.id[:12]
        self.name = kwargs.get("name")
        self.labels: dict[str, str] = dict(kwargs.get("labels") or {})
        self.status = "created"
        self.attrs: dict[str, Any] = {"State": {"ExitCode": 0, "Status": "created"}}
        self.archives: list[bytes] = []
        self.removed = False
        self._logs = logs

    def start(self) -> None:
        self.status = "running"

    def reload(self) -> None:
        self.attrs["State"]["Status"] = self.status

    def logs(self, stdout: bool = True, stderr: bool = True, **_: Any) -> bytes:
        return self._logs if stdout else b""

    def put_archive(self, path: str, data: Any) -> bool:
        self.archives.append(data.read() if hasattr(data, "read") else bytes(data))
        return True

    def remove(self, force: bool = False, v: bool = False) -> None:
        self.removed = True


@dataclass
class FakeEngine:
    """A Docker engine in memory: records what it was asked to create."""

    local_images: set[str] = field(default_factory=set)
    logs: bytes = b""
    mapped_port: int = 49153
    created: list[FakeContainer] = field(default_factory=list)
    from_env_kwargs: list[dict[str, Any]] = field(default_factory=list)
    ping_error: BaseException | None = None
    closed_clients: int = 0

    def client(self, **kwargs: Any) -> FakeClient:
        self.from_env_kwargs.append(kwargs)
        return FakeClient(self)


class FakeClient:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.api = FakeAPI(engine)
        self.images = FakeImages(engine)
        self.containers = FakeContainers(engine)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self.engine.closed_clients += 1


class FakeAPI:
    base_url = "http+docker://localhost"

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.headers: dict[str, str] = {}

    def get(self, url: str, timeout: float | None = None) -> FakeResponse:
        if self.engine.ping_error is not None:
            raise self.engine.ping_error
        return FakeResponse(200, {"Api-Version": FAKE_API_VERSION})

    def port(self, container_id: str, port: int) -> list[dict[str, str]]:
        return [{"HostIp": "", "HostPort": str(self.engine.mapped_port)}]


class FakeImages:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> object:
        from docker.errors import ImageNotFound

        if name not in self.engine.local_images:
            raise ImageNotFound(f"No such image: {name}")
        return object()

    def pull(self, name: str, **_: Any) -> object:
        from docker.errors import ImageNotFound

        raise ImageNotFound(f"{name}: no registry is reachable")


class FakeContainers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def create(self, image: str, **kwargs: Any) -> FakeContainer:
        container = FakeContainer(image, kwargs, self.engine.logs)
        self.engine.created.append(container)
        return container

    def get(self, container_id: str) -> FakeContainer:
        return next(c for c in self.engine.created if c.id == container_id)

    def list(
        self, all: bool = False, filters: dict[str, str] | None = None
    ) -> list[Any]:
        return [c for c in self.engine.created if not c.removed]


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """Replace ``docker.from_env`` by a fake engine, for us and for testcontainers.

    testcontainers reads its settings when first imported; they are pinned
    here to what the CI engine uses, so the tests do not depend on the
    environment of the run (the reaper off, connect through the engine's host).
    """
    import docker
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    engine = FakeEngine()
    monkeypatch.setattr(docker, "from_env", engine.client)
    monkeypatch.setenv("DOCKER_HOST", "tcp://fake-engine.invalid:2375")
    monkeypatch.delenv(rung.NETWORK_MODE_ENV, raising=False)
    monkeypatch.setattr(testcontainers_config, "_ryuk_disabled", True)
    monkeypatch.setattr(testcontainers_config, "tc_host_override", "localhost")
    monkeypatch.setattr(
        testcontainers_config, "connection_mode_override", ConnectionMode.docker_host
    )
    return engine


# ---------------------------------------------------------------- a fake broker


@pytest.fixture
def fake_broker() -> Iterator[int]:
    """A loopback port that answers Kafka's ApiVersions requests (headers only)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                size = struct.unpack(">i", conn.recv(4))[0]
                request = conn.recv(size)
                correlation = struct.unpack(">i", request[4:8])[0]
                body = struct.pack(">ihi", correlation, 0, 0)
                conn.sendall(struct.pack(">i", len(body)) + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(timeout=2)
    server.close()


# ---------------------------------------------------------------- a live engine


@pytest.fixture(scope="session")
def live_engine() -> rung.EnginePing:
    """The engine DOCKER_HOST names, with the local images; else the test is skipped.

    An engine started by scripts/docker-engine (MOCKSEED_DOCKER_STATE is set)
    must have both images: there a missing one fails the test instead, so a
    broken CI set-up cannot pass as skipped tests.
    """
    ping = rung.ping_engine()
    if not ping.available:
        pytest.skip(
            f"no Docker engine answers ({ping.checked}: {ping.reason}); "
            'run eval "$(scripts/docker-engine start)" first'
        )
    missing = _missing_images(rung.LOCAL_PG_IMAGE, rung.LOCAL_TANSU_IMAGE)
    if missing and os.environ.get("MOCKSEED_DOCKER_STATE"):
        pytest.fail(f"scripts/docker-engine did not build {', '.join(missing)}")
    if missing:
        pytest.skip(
            f"the engine lacks {', '.join(missing)}: build them with scripts/docker-engine"
        )
    return ping


def _missing_images(*names: str) -> list[str]:
    import docker
    from docker.errors import ImageNotFound

    client = docker.from_env()
    try:
        missing = []
        for name in names:
            try:
                client.images.get(name)
            except ImageNotFound:
                missing.append(name)
        return missing
    finally:
        client.close()


@pytest.fixture
def our_containers() -> Callable[..., list[str]]:
    """A function listing the containers of a session, as ``podman ps -a`` does."""
    return _containers_of


def _containers_of(session: str = rung.SESSION_ID) -> list[str]:
    """Names of the containers labelled with ``session``.

    The podman command is asked when the engine is podman started by
    scripts/docker-engine (as in CI); any other engine through the SDK.
    """
    label = f"{rung.SESSION_LABEL}={session}"
    podman = shutil.which("podman")
    host = os.environ.get("DOCKER_HOST", "")
    if (
        podman
        and os.environ.get("MOCKSEED_DOCKER_STATE")
        and host.startswith("unix://")
    ):
        command = [podman, "--remote", "--url", host, "ps", "-a"]
        command += ["--filter", f"label={label}", "--format", "{{.Names}}"]
        listed = subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=30
        )
        return listed.stdout.split()
    import docker

    client = docker.from_env()
    try:
        return [
            c.name for c in client.containers.list(all=True, filters={"label": label})
        ]
    finally:
        client.close()
