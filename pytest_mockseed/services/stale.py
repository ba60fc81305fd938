"""Find and remove what a killed run left in the temporary directory.

A run killed with SIGKILL (an xdist worker, an impatient CI) cannot clean
up: its servers die with it (parent-death signal), but its ``mockseed-pg-*``
and ``mockseed-tansu-*`` directories stay. Each such directory names its
owning run in ``owner.pid``; a later run removes the directories whose
owner is dead, after stopping any server still running from them, and never
touches one whose owner is alive (issue 7). Only the standard library is
used, because the plugin's entry module imports this at start-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

OWNER_FILE = "owner.pid"
PREFIXES = ("mockseed-pg-", "mockseed-tansu-")
#: Seconds a leftover postmaster gets to honour SIGQUIT before SIGKILL.
_STOP_GRACE = 2.0


def write_owner(root: Path) -> None:
    """Record in ``root`` that this process owns it, for :func:`sweep_stale`.

    The start time is kept beside the pid so that a recycled pid is not
    mistaken for the owner still being alive.
    """
    (root / OWNER_FILE).write_text(owner_token())


def owner_token() -> str:
    """The current run as "pid start-time", which a later run checks for life."""
    pid = os.getpid()
    return f"{pid} {_start_time(pid) or ''}".strip()


def token_alive(token: str) -> bool:
    """Whether the run an :func:`owner_token` names still runs; True when unknown."""
    try:
        fields = token.split()
        pid = int(fields[0])
    except (ValueError, IndexError):
        return True

    if not _pid_alive(pid):
        return False
    recorded = fields[1] if len(fields) > 1 else None
    current = _start_time(pid)
    return recorded is None or current is None or recorded == current


def sweep_stale(tmp: Path) -> list[Path]:
    """Remove the directories in ``tmp`` whose owning run is dead; return them.

    A directory without a readable ``owner.pid`` is left alone: it may
    belong to a run that has created it but not yet written the file.
    """
    removed: list[Path] = []
    for path in _candidates(tmp):
        if _owner_alive(path / OWNER_FILE):
            continue

        _stop_servers_in(path)
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            logger.debug("stale: removed %s, its run is gone", path)
            removed.append(path)
    return removed


def sweep_temp_dirs() -> list[Path]:
    """Sweep every directory a local server may have used.

    That is the temporary directory, and /tmp, where PostgreSQL goes when
    its account cannot reach the temporary directory.
    """
    removed: list[Path] = []
    for base in dict.fromkeys([Path(tempfile.gettempdir()), Path("/tmp")]):
        with contextlib.suppress(OSError):
            removed += sweep_stale(base)
    return removed


def _candidates(tmp: Path) -> list[Path]:
    try:
        entries = list(tmp.iterdir())
    except OSError:
        return []
    return [
        entry
        for entry in entries
        if entry.name.startswith(PREFIXES) and entry.is_dir() and not entry.is_symlink()
    ]


def _owner_alive(owner_file: Path) -> bool:
    """Whether the run named in ``owner_file`` still runs; True when unknown."""
    try:
        return token_alive(owner_file.read_text())
    except OSError:
        return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in ("Z", "X")


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (Linux); empty elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text.rpartition(")")[2].split()


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else None


def _stop_servers_in(path: Path) -> None:
    """Stop a postmaster still running from ``path``, and anything else in it."""
    pids = set(_processes_in(path))
    postmaster = _postmaster_pid(path / "data" / "postmaster.pid")
    if postmaster is not None and postmaster in pids:
        _signal(postmaster, signal.SIGQUIT)
        _wait_gone(postmaster, _STOP_GRACE)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    for pid in pids:
        _wait_gone(pid, _STOP_GRACE)


def _postmaster_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _processes_in(path: Path) -> list[int]:
    """Processes whose working directory is in ``path`` (Linux /proc only).

    Local servers are started with their directory as working directory,
    so this finds them, and only them, even when their pid was recycled.
    """
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            cwd = Path(os.readlink(entry / "cwd"))
            if cwd == path or path in cwd.parents:
                found.append(int(entry.name))
    return found


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_gone(pid: int, grace: float) -> None:
    deadline = time.monotonic() + grace
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
