"""Every setting of the plugin, declared once and resolved once.

A setting is an :class:`Option`: one command-line flag, one ini key and,
for the service addresses, one environment variable, sharing one parser.
:func:`resolve` reads them in the order command line, ini, environment,
default, and returns a frozen :class:`MockseedConfig` that remembers where
each value came from, for the report header.

This module imports only the standard library: pytest loads it for every
run, including ``pytest --help``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_mockseed.errors import ConfigError, mask_url

SERVICE_MODES = ("auto", "docker", "local")
DEFAULT_SEED = 1337
DEFAULT_EVENTS = 9


def _parse_text(value: str) -> str:
    return value.strip()


def _parse_events(value: str) -> int:
    try:
        events = int(value)
    except ValueError:
        raise ConfigError(f"expected a whole number of events, got {value!r}") from None
    if events < 0:
        raise ConfigError(f"expected 0 or more events, got {events}")
    return events


def _parse_seed(value: str) -> int | str:
    if value in ("random", "last"):
        return value
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"expected an integer, 'random' or 'last', got {value!r}"
        ) from None


def _parse_services(value: str) -> str:
    if value not in SERVICE_MODES:
        raise ConfigError(f"expected one of {', '.join(SERVICE_MODES)}, got {value!r}")
    return value


def _parse_db_url(value: str) -> str:
    if not value.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        raise ConfigError(f"expected a postgresql:// URL, got {mask_url(value)!r}")
    return value


def _parse_bootstrap(value: str) -> str:
    for address in value.split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"expected HOST:PORT[,HOST:PORT...], got {value!r}")
    return value


def _parse_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"expected a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError(f"expected a positive number of seconds, got {value!r}")
    return seconds


def _parse_anchor(value: str) -> datetime:
    try:
        anchor = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"expected an ISO-8601 time such as 2026-01-01T00:00:00+00:00, got {value!r}"
        ) from None
    if anchor.tzinfo is None:
        raise ConfigError(f"expected a time with a UTC offset, got {value!r}")
    return anchor


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class Option:
    """One setting: its flag, ini key, environment variable and parser."""

    name: str
    help: str
    parse: Callable[[str], Any] = _parse_text
    default: Any = None
    env: str | None = None
    metavar: str | None = None
    flag: bool = False

    @property
    def cli(self) -> str:
        """The command-line flag, e.g. ``--mockseed-db-url``."""
        return "--mockseed-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The ini key, e.g. ``mockseed_db_url``."""
        return "mockseed_" + self.name

    @property
    def dest(self) -> str:
        """The argparse destination shared by the flag."""
        return "mockseed_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option(
        "db_url",
        "PostgreSQL server to use instead of starting one; the plugin creates and "
        "drops only its own mockseed_* databases there.",
        _parse_db_url,
        env="MOCKSEED_DB_URL",
        metavar="URL",
    ),
    Option(
        "kafka_bootstrap",
        "Kafka bootstrap address to use instead of starting a broker.",
        _parse_bootstrap,
        env="MOCKSEED_KAFKA_BOOTSTRAP",
        metavar="HOST:PORT",
    ),
    Option(
        "services",
        "Where to start services when no URL is given: auto (Docker when an "
        "engine answers, else local processes), docker or local.",
        _parse_services,
        default="auto",
        env="MOCKSEED_SERVICES",
        metavar="auto|docker|local",
    ),
    Option(
        "pg_bin",
        "Directory holding initdb and postgres for the local rung.",
        _parse_text,
        env="MOCKSEED_PG_BIN",
        metavar="DIR",
    ),
    Option(
        "tansu_bin",
        "Path of the Tansu broker binary for the local rung.",
        _parse_text,
        env="MOCKSEED_TANSU_BIN",
        metavar="PATH",
    ),
    Option(
        "pg_image",
        "PostgreSQL image for the Docker rung.",
        _parse_text,
        env="MOCKSEED_PG_IMAGE",
        metavar="IMAGE",
    ),
    Option(
        "kafka_image",
        "Kafka image for the Docker rung (Apache Kafka in KRaft mode, or Tansu).",
        _parse_text,
        env="MOCKSEED_KAFKA_IMAGE",
        metavar="IMAGE",
    ),
    Option(
        "events",
        f"Error events per project in the seeded world (default {DEFAULT_EVENTS}).",
        _parse_events,
        default=DEFAULT_EVENTS,
        metavar="N",
    ),
    Option(
        "seed",
        f"Seed of every random value: an integer (default {DEFAULT_SEED}), "
        "'random', or 'last' to replay the previous run.",
        _parse_seed,
        default=DEFAULT_SEED,
        metavar="INT|random|last",
    ),
    Option(
        "anchor",
        "Time the seeded world is anchored at (ISO-8601 with offset); default: "
        "the start of the run, so the data is recent.",
        _parse_anchor,
        metavar="TIME",
    ),
    Option(
        "skip_default_setup",
        "Seed only users, organization, teams, projects, feedback and trace.",
        _parse_bool,
        default=False,
        flag=True,
    ),
    Option(
        "extra_events",
        "Add 45 extra error events to every project.",
        _parse_bool,
        default=False,
        flag=True,
    ),
    Option(
        "delivery_timeout",
        "Seconds to wait for the broker to confirm a message (default 5).",
        _parse_seconds,
        default=5.0,
        metavar="SECONDS",
    ),
    Option(
        "reuse",
        "Keep the initialised database and the seeded template between runs.",
        _parse_bool,
        default=False,
        flag=True,
    ),
    Option(
        "recreate",
        "Rebuild the kept database and template even when they look current.",
        _parse_bool,
        default=False,
        flag=True,
    ),
)

OPTIONS_BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class MockseedConfig:
    """The resolved settings of one run.

    ``seed`` may still be ``"random"`` or ``"last"`` here; the plugin turns
    it into an integer with :func:`with_seed` once it can reach the cache.
    """

    db_url: str | None = None
    kafka_bootstrap: str | None = None
    services: str = "auto"
    pg_bin: str | None = None
    tansu_bin: str | None = None
    pg_image: str | None = None
    kafka_image: str | None = None
    events: int = DEFAULT_EVENTS
    seed: int | str = DEFAULT_SEED
    anchor: datetime | None = None
    skip_default_setup: bool = False
    extra_events: bool = False
    delivery_timeout: float = 5.0
    reuse: bool = False
    recreate: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: The project the run belongs to; what ``reuse`` keeps is kept per project.
    root_dir: Path | None = field(default=None, compare=False)
    #: The xdist worker this run is (``gw0``...), or ``main``; what ``reuse``
    #: keeps is kept per worker, since workers run side by side.
    worker: str = field(default="main", compare=False)

    @property
    def seed_value(self) -> int:
        """The integer seed; valid once the plugin has resolved it."""
        if not isinstance(self.seed, int):
            raise ConfigError(f"the seed {self.seed!r} has not been resolved yet")
        return self.seed

    @property
    def anchor_time(self) -> datetime:
        """The anchor time; valid once the plugin has resolved it."""
        if self.anchor is None:
            raise ConfigError("the anchor time has not been resolved yet")
        return self.anchor

    def source_of(self, name: str) -> str:
        """Where the value of ``name`` came from: cli, ini, env or default."""
        return self.sources.get(name, "default")


def with_seed(config: MockseedConfig, seed: int) -> MockseedConfig:
    """Return ``config`` with its seed resolved to an integer."""
    return dataclasses.replace(config, seed=seed)


RawReader = Callable[[Option], "tuple[str, object] | None"]


def resolve(
    read_cli: RawReader,
    read_ini: RawReader,
    environ: Mapping[str, str],
) -> MockseedConfig:
    """Resolve every option: command line, then ini, then environment, then default.

    ``read_cli`` and ``read_ini`` return ``(source, raw value)`` or ``None``
    when the option is not set there. A value that does not parse raises
    :class:`ConfigError` naming the flag, ini key or variable it came from.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        found = read_cli(option) or read_ini(option) or _read_env(option, environ)
        if found is None:
            continue

        source, raw = found
        values[option.name] = _parse(option, source, raw)
        sources[option.name] = source

    return MockseedConfig(**values, sources=sources)


def _read_env(option: Option, environ: Mapping[str, str]) -> tuple[str, object] | None:
    if option.env and environ.get(option.env):
        return "env", environ[option.env]
    return None


def _parse(option: Option, source: str, raw: object) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return option.parse(raw)
    except ConfigError as error:
        where = {"cli": option.cli, "ini": f"ini key {option.ini}", "env": option.env}
        raise ConfigError(f"{where[source]}: {error}") from None
