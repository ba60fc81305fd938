"""Child processes that die with the run: ports, users, start and stop.

Local PostgreSQL and Tansu run as direct children of the pytest process, in
their own session (so a Ctrl-C in the terminal reaches pytest, which stops
them in order) and with a parent-death signal (so even a ``kill -9`` of
pytest takes them down instead of leaving them running).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pwd
import secrets
import signal
import socket
import stat
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
UNPRIVILEGED_USERS = ("postgres", "nobody")


@dataclass(frozen=True)
class RunAs:
    """The unprivileged account a server runs as when pytest runs as root."""

    name: str
    uid: int
    gid: int


#: Stops of the servers this process created, kept from the moment they
#: exist, so an interrupt between creating one and handing it over still
#: has it stopped (see :func:`stop_pending`).
_pending_stops: list[Callable[[], None]] = []


def stop_at_exit(stop_server: Callable[[], None]) -> None:
    """Remember ``stop_server`` until :func:`stop_pending` runs it (idempotent stops)."""
    _pending_stops.append(stop_server)


def handed_over(stop_server: Callable[[], None]) -> None:
    """Forget ``stop_server``: whoever it was handed to now stops the server.

    Only servers never handed over stay pending, so a pytest run inside
    another (pytester) stops its own leftovers, never the outer run's servers.
    """
    with contextlib.suppress(ValueError):
        _pending_stops.remove(stop_server)


def stop_pending() -> list[str]:
    """Run every remembered stop, newest first; return the failures met."""
    problems = []
    while _pending_stops:
        stop_server = _pending_stops.pop()
        try:
            stop_server()
        except Exception as error:  # keep stopping the others
            problems.append(str(error))
    return problems


def fresh_directory_name(prefix: str) -> str:
    """A name for a new temporary directory, chosen before it is created."""
    return prefix + secrets.token_hex(4)


def unprivileged_account() -> RunAs | None:
    """Return the account to drop to, or ``None`` when not running as root.

    PostgreSQL refuses to start as root, so a root run hands the data
    directory to the first of :data:`UNPRIVILEGED_USERS` that exists.
    """
    if os.geteuid() != 0:
        return None

    for name in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(name, entry.pw_uid, entry.pw_gid)
    return None


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """Ask the kernel to kill this child when its parent dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run_as(account: RunAs | None) -> dict[str, object]:
    """Keyword arguments for :mod:`subprocess` that drop to ``account``."""
    if account is None:
        return {}
    return {"user": account.uid, "group": account.gid, "extra_groups": []}


def give_to(path: Path, account: RunAs | None) -> None:
    """Hand ``path`` to ``account`` so the server can write there."""
    if account is not None:
        os.chown(path, account.uid, account.gid)


def reachable_by(path: Path, account: RunAs) -> bool:
    """Tell whether ``account`` may enter ``path`` and every directory above it."""
    for directory in [path, *path.parents]:
        try:
            info = directory.stat()
        except OSError:
            return False
        if info.st_uid == account.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == account.gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def spawn(
    argv: Sequence[str], log_path: Path, account: RunAs | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process that logs to ``log_path`` and dies with us."""
    logger.debug("processes: starting %s", argv[0])
    with log_path.open("ab") as log:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            **run_as(account),
        )


def stop(process: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Send ``sig``, wait up to ``grace`` seconds, then kill; never raises."""
    if process.poll() is not None:
        return

    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.debug("processes: %s ignored signal %s, killing", process.pid, sig)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()


def exit_reason(process: subprocess.Popen[bytes] | None, log: Path) -> str | None:
    """``None`` while ``process`` runs; else how it ended, with its last word.

    The last line of its log is quoted, not the log's path: stopping the
    other servers removes the directory the log is in.
    """
    if process is None:
        return "it was stopped"
    status = process.poll()
    if status is None:
        return None

    killed = status < 0
    how = (
        f"it was killed by signal {-status}"
        if killed
        else f"it exited with status {status}"
    )
    last_line = tail(log, 1)
    return f"{how}; its log ends: {last_line}" if last_line else how


def tail(path: Path, lines: int = 5) -> str:
    """Return the last ``lines`` lines of a log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
