"""Containers of this plugin: labelled, removed once, swept when orphaned.

Every container started here carries two labels, the session
(``<pid>-<random>``) and the host, and the handle's ``stop`` removes it. The
labels let :func:`remove_labelled_containers` sweep what a crashed process
left behind, because users may run with testcontainers' reaper disabled.
A container that does not become ready is removed at once, and its failure
leaves as one :class:`ServiceUnavailable` carrying the tail of its log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from typing import Any

from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services.docker.engine import (
    LOCAL_REMEDY,
    ImageOption,
    engine_address,
    first_line,
    ping_engine,
)

logger = logging.getLogger(__name__)

SESSION_LABEL = "org.pytest-mockseed.session"
HOST_LABEL = "org.pytest-mockseed.host"
SESSION_ID = f"{os.getpid()}-{secrets.token_hex(4)}"
NETWORK_MODE_ENV = "MOCKSEED_DOCKER_NETWORK_MODE"

#: How often a wait for a container's readiness looks again, in seconds.
POLL_INTERVAL = 0.2

_LOG_TAIL_LINES = 15


def with_labels(container: Any, kind: str) -> Any:
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


def exit_reason(container: Any) -> str | None:
    """``None`` while the container runs; else how it ended, as the engine says."""
    try:
        status = _exit_code(container)
    except Exception as error:  # removed behind our back, or the engine is gone
        return f"the engine no longer reports it ({first_line(str(error))})"
    return None if status is None else f"the container exited with status {status}"


def raise_if_exited(container: Any) -> None:
    """End a wait at once when the container has stopped."""
    code = _exit_code(container)
    if code is not None:
        raise RuntimeError(f"the container exited with status {code}")


def _log_tail(container: Any) -> str:
    with contextlib.suppress(Exception):
        lines = b"".join(container.get_logs()).decode(errors="replace").splitlines()
        return "\n    ".join(lines[-_LOG_TAIL_LINES:])
    return "(no logs)"


@contextlib.contextmanager
def removed_on_failure(container: Any) -> Iterator[None]:
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
        why = first_line(str(error)) or type(error).__name__
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
def one_error_type(service: ImageOption, image: str) -> Iterator[None]:
    """Turn whatever the SDK or testcontainers raise into ServiceUnavailable."""
    remedies = [service.remedy(), LOCAL_REMEDY]
    try:
        yield
    except ServiceUnavailable:
        raise
    except _StartFailed as error:
        raise ServiceUnavailable(
            f"{service.service} container ({image})",
            f"it did not become ready: {error.why}",
            [
                f"the engine at {engine_address()[0]}",
                f"the container's log:\n    {error.log_tail}",
            ],
            remedies,
        ) from error
    except Exception as error:
        raise ServiceUnavailable(
            f"{service.service} container ({image})",
            f"it could not be started: {first_line(str(error)) or type(error).__name__}",
            [f"the engine at {engine_address()[0]}"],
            remedies,
        ) from error


def remover(container: Any, what: str) -> Callable[[], None]:
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
                f"it could not be removed: {first_line(str(error))}",
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
