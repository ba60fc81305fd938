"""The ``mockseed`` command: the plugin's seeded world, outside pytest.

``mockseed seed`` runs the plugin's scenario into a database you name;
``mockseed up`` starts PostgreSQL and a broker by the plugin's ladder, seeds
them and keeps them up until Ctrl-C. Both call the same
:func:`pytest_mockseed.scenario.main` with the same arguments as the
plugin's template, so one seed and anchor give the same rows here as there.

The command line is argparse: it is what pytest itself uses, it adds no
dependency, and it takes the plugin's own value parsers as ``type=``, so the
command and the plugin accept and refuse the same values. Exit status: 0 on
success, 1 when the database or the broker fails, 2 on bad usage.

This module imports nothing heavy, so ``--help`` and usage errors answer at
once; the commands import SQLAlchemy and the Kafka client when they run.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from pytest_mockseed import __version__
from pytest_mockseed.config import OPTIONS_BY_NAME, MockseedConfig, resolve
from pytest_mockseed.errors import (
    ConfigError,
    MockseedError,
    ServiceUnavailable,
    mask_url,
)

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: The environment variables each command reads, as the plugin names them.
#: ``up`` ignores the address variables: it starts servers of its own.
_ENV_BY_COMMAND = {
    "seed": ("MOCKSEED_DB_URL", "MOCKSEED_KAFKA_BOOTSTRAP"),
    "up": (
        "MOCKSEED_SERVICES",
        "MOCKSEED_PG_BIN",
        "MOCKSEED_TANSU_BIN",
        "MOCKSEED_PG_IMAGE",
        "MOCKSEED_KAFKA_IMAGE",
    ),
}

#: The plugin's service options that ``up`` takes too: name, metavar, help.
_UP_SERVICE_OPTIONS = (
    (
        "services",
        "auto|docker|local",
        "auto (Docker when an engine answers, else local processes), docker or local",
    ),
    ("pg_bin", "DIR", "directory of initdb and postgres for the local rung"),
    ("tansu_bin", "PATH", "Tansu binary for the local rung"),
    ("pg_image", "IMAGE", "PostgreSQL image for the Docker rung"),
    ("kafka_image", "IMAGE", "Kafka or Tansu image for the Docker rung"),
)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors fit on one line."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` and exit with the usage status."""
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mockseed``; return the exit status (the console script's entry)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)

    try:
        settings = _resolve_settings(args, os.environ)
    except ConfigError as error:
        args.command_parser.error(str(error))

    return _run(args, settings)


def build_parser() -> argparse.ArgumentParser:
    """The ``mockseed`` parser with its ``seed`` and ``up`` commands."""
    parser = _Parser(
        prog="mockseed",
        description="Seed pytest-mockseed's error-monitoring world outside pytest.",
        epilog="Run 'mockseed COMMAND --help' for the options of each command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"mockseed {__version__}"
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    _add_seed(commands)
    _add_up(commands)
    return parser


def _add_seed(commands: Any) -> None:
    seed = commands.add_parser(
        "seed",
        help="seed the world into a PostgreSQL database you name",
        description="Run the plugin's scenario into the database at URL, creating "
        "the schema when absent. A database whose tables have mockseed's names but "
        "other columns is refused, and so is one that already holds a seeded world "
        "unless --add is given.",
    )
    seed.add_argument(
        "--db-url",
        type=_typed("db_url"),
        metavar="URL",
        help="PostgreSQL URL, postgresql://USER:PASSWORD@HOST:PORT/DB "
        "(env MOCKSEED_DB_URL)",
    )
    seed.add_argument(
        "--kafka-bootstrap",
        type=_typed("kafka_bootstrap"),
        metavar="HOST:PORT",
        help="broker for the feedback occurrence (env MOCKSEED_KAFKA_BOOTSTRAP); "
        "without one the occurrence is not sent",
    )
    seed.add_argument(
        "--add",
        action="store_true",
        help="seed a database that already holds a world, adding to it as the "
        "reference does (use another --seed: the same seed repeats event ids)",
    )
    _add_world_options(seed)
    seed.set_defaults(command_parser=seed)


def _add_up(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="start PostgreSQL and a broker, seed them, keep them up until Ctrl-C",
        description="Start PostgreSQL and a Kafka-protocol broker the way the plugin "
        "does, seed a database named mockseed, print MOCKSEED_DB_URL=... and "
        "MOCKSEED_KAFKA_BOOTSTRAP=... lines, and keep running until SIGINT or "
        "SIGTERM; then stop both and remove their files.",
        epilog="Ignores MOCKSEED_DB_URL and MOCKSEED_KAFKA_BOOTSTRAP: to seed servers "
        "you run, use 'mockseed seed'.",
    )
    services = up.add_argument_group("the servers (as the plugin's options)")
    for name, metavar, what in _UP_SERVICE_OPTIONS:
        option = OPTIONS_BY_NAME[name]
        services.add_argument(
            "--" + name.replace("_", "-"),
            type=_typed(name),
            metavar=metavar,
            help=f"{what} (env {option.env})",
        )
    _add_world_options(up)
    up.set_defaults(command_parser=up)


def _add_world_options(command: argparse.ArgumentParser) -> None:
    world = command.add_argument_group("the seeded world (as the plugin's options)")
    world.add_argument(
        "--events",
        type=_typed("events"),
        metavar="N",
        help="error events per project (default 9)",
    )
    world.add_argument(
        "--seed",
        type=_typed("seed"),
        metavar="INT|random",
        help="seed of every random value (default 1337)",
    )
    world.add_argument(
        "--anchor",
        type=_typed("anchor"),
        metavar="TIME",
        help="ISO-8601 time with offset the world is anchored at (default: now)",
    )
    world.add_argument(
        "--skip-default-setup",
        action="store_true",
        default=None,
        help="seed only users, organization, teams, projects, feedback and trace",
    )
    world.add_argument(
        "--extra-events",
        action="store_true",
        default=None,
        help="add 45 extra error events to every project",
    )
    output = command.add_argument_group("output")
    output.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object"
    )
    output.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what happens and show tracebacks of failures",
    )


def _typed(name: str) -> Callable[[str], Any]:
    """The plugin's parser for option ``name``, speaking argparse's error type."""
    option = OPTIONS_BY_NAME[name]

    def parse(raw: str) -> Any:
        try:
            return option.parse(raw)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name
    return parse


def _resolve_settings(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> MockseedConfig:
    """Resolve the command's options the plugin's way: flag, then env, then default.

    The seed and the anchor come out concrete, as the plugin makes them
    before it seeds, so the summary can say how to reproduce the world.
    """
    wanted = {
        name: environ[name] for name in _ENV_BY_COMMAND[args.command] if name in environ
    }

    def from_cli(option: Any) -> tuple[str, object] | None:
        value = getattr(args, option.name, None)
        return None if value is None else ("cli", value)

    settings = resolve(from_cli, lambda _option: None, wanted)
    if args.command == "seed" and settings.db_url is None:
        raise ConfigError(
            "no database: give --db-url URL or set MOCKSEED_DB_URL "
            "(or run 'mockseed up' to start a server of its own)"
        )

    anchor = settings.anchor or datetime.now(UTC).replace(microsecond=0)
    return dataclasses.replace(
        settings, seed=_concrete_seed(settings.seed), anchor=anchor
    )


def _concrete_seed(wanted: int | str) -> int:
    if isinstance(wanted, int):
        return wanted
    if wanted == "random":
        return random.SystemRandom().randrange(2**31)
    raise ConfigError(
        f"argument --seed: {wanted!r} is for pytest, which keeps the last seed in its "
        "cache; pass the number from the failed test's 'reproduce with' line"
    )


def _configure_logging(verbose: bool) -> None:
    """Log to stderr: our debug lines with ``--verbose``, else only trouble.

    Warnings from libraries are routed to logging and shown with
    ``--verbose`` only: they are detail for whoever debugs, not news for
    whoever seeds.
    """
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(
        logging.WARNING if verbose else logging.ERROR
    )
    if verbose:
        logging.getLogger("pytest_mockseed").setLevel(logging.DEBUG)


def _run(args: argparse.Namespace, settings: MockseedConfig) -> int:
    """Run the command; turn a failure of the services into one masked line."""
    from pytest_mockseed.cli import commands

    try:
        return commands.run(
            args.command,
            settings,
            json_output=args.json,
            add=getattr(args, "add", False),
        )
    except MockseedError as error:
        _report(error, args.verbose)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("mockseed: interrupted\n")
        return EXIT_INTERRUPTED


def _report(error: MockseedError, verbose: bool) -> None:
    if verbose:
        logger.error("mockseed: failed", exc_info=error)
    if isinstance(error, ServiceUnavailable):
        line = f"{error.what}: {error.why}"
    else:
        line = str(error).strip().splitlines()[0]
    hint = "" if verbose else " (--verbose for details)"
    sys.stderr.write(f"mockseed: error: {mask_url(line)}{hint}\n")
