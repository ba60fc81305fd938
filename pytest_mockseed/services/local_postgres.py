"""PostgreSQL from the machine's own binaries, the ladder's last rung.

It runs ``initdb`` and ``postgres`` from the local installation in a
temporary directory, on a free loopback port, with the durability settings
a throwaway test server does not need switched off. When pytest runs as
root the server runs as an unprivileged account, because PostgreSQL
refuses to run as root. With ``--mockseed-reuse`` the cluster is kept
between runs in a directory of its own.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.errors import ServiceUnavailable
from pytest_mockseed.services import processes, stale
from pytest_mockseed.services.handles import PostgresHandle
from pytest_mockseed.services.postgres import (
    CONNECT_TIMEOUT,
    first_line,
    server_version,
)

logger = logging.getLogger(__name__)

READY_TIMEOUT = 30.0
_SEARCHED_BIN_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/opt/homebrew/bin",
    "/usr/local/pgsql/bin",
)
_REMEDIES = (
    "install PostgreSQL server binaries (Debian: apt-get install postgresql; "
    "macOS: brew install postgresql@15)",
    "or point at them with --mockseed-pg-bin DIR (ini mockseed_pg_bin, env MOCKSEED_PG_BIN)",
    "or use a server you run: --mockseed-db-url URL (ini mockseed_db_url, "
    "env MOCKSEED_DB_URL)",
    "or start a Docker engine and use --mockseed-services=docker",
)


def find_bin_dir(explicit: str | None) -> tuple[Path | None, list[str]]:
    """Find a directory with ``initdb`` and ``postgres``; list what was checked."""
    checked: list[str] = []
    for candidate in _candidate_bin_dirs(explicit):
        checked.append(str(candidate))
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate, checked
    return None, checked


def _candidate_bin_dirs(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit)]

    candidates: list[Path] = []
    on_path = shutil.which("postgres") or shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        candidates.append(_pg_config_bindir(pg_config))
    for pattern in _SEARCHED_BIN_GLOBS:
        candidates.extend(
            Path(found) for found in sorted(glob.glob(pattern), reverse=True)
        )
    return list(dict.fromkeys(candidates))


def _pg_config_bindir(pg_config: str) -> Path:
    try:
        out = subprocess.run(
            [pg_config, "--bindir"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return Path(pg_config).resolve().parent
    return Path(out.stdout.strip())


class LocalPostgres:
    """A PostgreSQL cluster in a temporary directory, or in a kept one.

    A kept cluster (``--mockseed-reuse``) lives in a directory named after
    the project, survives the run, and is only initialised once; a lock file
    keeps two runs from sharing it.
    """

    def __init__(self, bin_dir: Path, kept: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.account = processes.unprivileged_account()
        self.kept = kept is not None
        self._lock: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.root = kept or server_temp_dir(
            self.account
        ) / processes.fresh_directory_name("mockseed-pg-")
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

        # Registered before anything exists, so no interrupt can orphan it.
        processes.stop_at_exit(self.stop)
        if kept is None:
            self.root.mkdir(mode=0o700)
            stale.write_owner(self.root)
        else:
            self._lock = _lock_directory(kept)

    def start(self) -> PostgresHandle:
        """Initialise the cluster, start the server and wait until it answers."""
        try:
            processes.give_to(self.root, self.account)
            self._start_cluster()
        except BaseException:
            self.stop()
            raise

        version = self._version()
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        return PostgresHandle(
            url,
            "local",
            version,
            f"127.0.0.1:{self.port}",
            detail=str(self.bin_dir),
            stop=self.stop,
            exit_reason=lambda: processes.exit_reason(self.process, self.log),
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory; idempotent.

        A kept directory stays, with its data, for the next run.
        """
        if self.process is not None:
            processes.stop(self.process, signal.SIGINT, grace=10.0)
            self.process = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        if not self.kept:
            shutil.rmtree(self.root, ignore_errors=True)

    def _start_cluster(self) -> None:
        """Start the cluster, initialising it first when it is new.

        A kept cluster that no longer starts (a run killed during initdb, a
        damaged or deleted file) is initialised again rather than reported:
        it holds nothing that seeding does not rebuild, and a user would
        otherwise have to find ``--mockseed-recreate`` to get past it.
        """
        if (self.data / "PG_VERSION").is_file():
            try:
                self._start_server()
                return
            except ServiceUnavailable as failure:
                logger.warning(
                    "postgres: the kept cluster in %s does not start (%s); "
                    "initialising it again",
                    self.data,
                    failure.why,
                )
                shutil.rmtree(self.data)
        self._initdb()
        self._start_server()

    def _initdb(self) -> None:
        argv = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=self.root,
            **processes.run_as(self.account),  # type: ignore[call-overload]
        )
        if done.returncode != 0:
            raise self._failure("initdb failed", done.stderr or done.stdout)

    def _start_server(self) -> None:
        for _attempt in range(3):
            self.port = processes.free_port()
            self.process = processes.spawn(self._server_argv(), self.log, self.account)
            try:
                ready = self._wait_ready()
            except ServiceUnavailable:
                self._kill_server()
                raise
            if ready:
                return
            self._kill_server()
        raise self._failure("postgres did not start", processes.tail(self.log))

    def _kill_server(self) -> None:
        if self.process is not None:
            processes.stop(self.process, signal.SIGKILL, grace=1.0)
            self.process = None

    def _server_argv(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        return argv

    def _wait_ready(self) -> bool:
        """Wait until the server accepts connections, then log in once.

        Readiness is libpq's ping (what ``pg_isready`` asks), which tells a
        server still starting from one that answers: a login refused after
        that (a database that is gone) is final, not worth 30 s of retries.
        """
        from psycopg import pq

        conninfo = self._conninfo().encode()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            if pq.PGconn.ping(conninfo + b" connect_timeout=1") == pq.Ping.OK:
                self._login()
                return True
            time.sleep(0.05)
        return False

    def _login(self) -> None:
        import psycopg

        try:
            psycopg.connect(self._conninfo(), connect_timeout=CONNECT_TIMEOUT).close()
        except psycopg.OperationalError as error:
            raise self._failure(
                "postgres refused the first login", str(error)
            ) from None

    def _conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def _version(self) -> str:
        import psycopg

        with psycopg.connect(self._conninfo()) as conn:
            return server_version(conn)

    def _failure(self, why: str, output: str) -> ServiceUnavailable:
        return ServiceUnavailable(
            "local PostgreSQL could not be started",
            f"{why}: {first_line(output)}",
            [f"binaries in {self.bin_dir}", f"ran as {self._who()}", f"log {self.log}"],
            _REMEDIES[1:],
        )

    def _who(self) -> str:
        return (
            self.account.name if self.account else os.environ.get("USER", "this user")
        )


def start_local(config: MockseedConfig) -> PostgresHandle:
    """Start a PostgreSQL from local binaries, or explain what is missing."""
    bin_dir, checked = find_bin_dir(config.pg_bin)
    if bin_dir is None:
        raise ServiceUnavailable(
            "no PostgreSQL server binaries found",
            "the local rung needs initdb and postgres to start a throwaway server",
            [f"{path} (initdb, postgres)" for path in checked] or ["PATH, pg_config"],
            _REMEDIES,
        )
    if os.geteuid() == 0 and processes.unprivileged_account() is None:
        raise ServiceUnavailable(
            "no account to run PostgreSQL as",
            "PostgreSQL refuses to run as root and no unprivileged user exists",
            [f"users {', '.join(processes.UNPRIVILEGED_USERS)}"],
            ["create one (useradd postgres)", *_REMEDIES[2:]],
        )
    kept = kept_cluster_dir(config)
    if kept is not None:
        try:
            return LocalPostgres(bin_dir, kept).start()
        except BlockingIOError:
            logger.info(
                "postgres: %s is in use by another run; using a fresh one", kept
            )

    logger.debug("postgres: starting local server from %s", bin_dir)
    return LocalPostgres(bin_dir).start()


def kept_cluster_dir(config: MockseedConfig) -> Path | None:
    """Where ``--mockseed-reuse`` keeps this project's cluster, or ``None``.

    One directory per project and xdist worker, in the temporary directory
    (which the server's account can reach, unlike a private home); emptied
    first by ``--mockseed-recreate``.
    """
    if not config.reuse or config.root_dir is None:
        return None

    project = hashlib.sha256(str(config.root_dir.resolve()).encode()).hexdigest()[:12]
    base = server_temp_dir(processes.unprivileged_account())
    path = base / f"mockseed-reuse-{project}-{config.worker}"
    if config.recreate:
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def server_temp_dir(account: processes.RunAs | None) -> Path:
    """The temporary directory, or /tmp when the server's account cannot reach it.

    A TMPDIR inside a private home directory would make initdb fail with
    "permission denied" when the server runs as another account.
    """
    base = Path(tempfile.gettempdir())
    if account is None or processes.reachable_by(base, account):
        return base
    return Path("/tmp")


def _lock_directory(path: Path) -> int:
    """Lock ``path`` for this process; raise BlockingIOError if another holds it."""
    descriptor = os.open(path / "lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise
    return descriptor
