"""The pytest entry point: options, hooks and the run's state, nothing more.

Fixture bodies live in :mod:`pytest_mockseed.fixtures` (pulled in through
``pytest_plugins``, so ``-p no:pytest_mockseed`` switches them off too), and
everything that does work lives in modules named after its role. This module
and the ones it imports at the top need nothing beyond pytest, so
``pytest --help`` stays fast without Docker, a broker or a database driver.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from pytest_mockseed.config import (
    OPTIONS,
    MockseedConfig,
    Option,
    resolve,
    with_seed,
)
from pytest_mockseed.errors import ConfigError, mask_url
from pytest_mockseed.preload import BackgroundImport
from pytest_mockseed.services.ladder import Services

pytest_plugins = ["pytest_mockseed.fixtures"]

CONFIG_KEY = pytest.StashKey[MockseedConfig]()
SERVICES_KEY = pytest.StashKey[Services]()
PRELOAD_KEY = pytest.StashKey[BackgroundImport]()
#: The anchor of the seeded world, which a reused template may have kept.
WORLD_ANCHOR_KEY = pytest.StashKey[datetime]()
SEED_CACHE_KEY = "mockseed/seed"
SERVICE_FIXTURES = frozenset({"mockseed_postgres", "mockseed_kafka"})


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register the hooks a conftest may implement."""
    from pytest_mockseed import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register every ``--mockseed-*`` option with its ini twin."""
    group = parser.getgroup(
        "mockseed", "seeded error-monitoring world (pytest-mockseed)"
    )
    for option in OPTIONS:
        if option.flag:
            group.addoption(
                option.cli,
                action="store_true",
                default=None,
                dest=option.dest,
                help=option.help,
            )
        else:
            group.addoption(
                option.cli,
                default=None,
                dest=option.dest,
                metavar=option.metavar,
                type=_argparse_type(option),
                help=option.help,
            )
        ini_type: Literal["bool", "string"] = "bool" if option.flag else "string"
        parser.addini(option.ini, option.help, type=ini_type, default=None)


def _argparse_type(option: Option) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            return option.parse(raw)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = option.name
    return parse


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Resolve the settings once and make the run's services available."""
    config.addinivalue_line(
        "markers",
        "mockseed(isolation='transaction'|'database'): how this test is isolated "
        "from the others; 'database' gives it a database cloned from the template.",
    )
    try:
        settings = _resolve_settings(config)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None

    config.stash[CONFIG_KEY] = settings
    config.stash[SERVICES_KEY] = Services(settings)
    config.stash[PRELOAD_KEY] = BackgroundImport()


def _resolve_settings(config: pytest.Config) -> MockseedConfig:
    import dataclasses
    import os

    def from_cli(option: Option) -> tuple[str, object] | None:
        value = config.getoption(option.dest)
        return None if value is None else ("cli", value)

    def from_ini(option: Option) -> tuple[str, object] | None:
        value = config.getini(option.ini)
        return None if value is None or value == "" else ("ini", value)

    settings = resolve(from_cli, from_ini, os.environ)
    # From xdist's own input, not PYTEST_XDIST_WORKER: a pytest run started
    # inside a worker (pytester) inherits that variable but is no worker.
    worker = str(_worker_input(config).get("workerid", "main"))
    settings = dataclasses.replace(settings, root_dir=config.rootpath, worker=worker)
    settings = _with_anchor(config, settings)
    return with_seed(settings, _resolve_seed(config, settings.seed))


def _with_anchor(config: pytest.Config, settings: MockseedConfig) -> MockseedConfig:
    import dataclasses

    worker_anchor = _worker_input(config).get("mockseed_anchor")
    if worker_anchor:
        return dataclasses.replace(
            settings, anchor=datetime.fromisoformat(worker_anchor)
        )
    if settings.anchor is None:
        start = datetime.now(UTC).replace(microsecond=0)
        return dataclasses.replace(settings, anchor=start)
    return settings


def _resolve_seed(config: pytest.Config, wanted: int | str) -> int:
    worker_seed = _worker_input(config).get("mockseed_seed")
    if worker_seed is not None:
        return int(worker_seed)
    if isinstance(wanted, int):
        seed = wanted
    elif wanted == "random":
        seed = random.SystemRandom().randrange(2**31)
    else:
        seed = _last_seed(config)

    if getattr(config, "cache", None) is not None:
        config.cache.set(SEED_CACHE_KEY, seed)
    return seed


def _last_seed(config: pytest.Config) -> int:
    cache = getattr(config, "cache", None)
    last = cache.get(SEED_CACHE_KEY, None) if cache is not None else None
    if not isinstance(last, int):
        raise ConfigError(
            "--mockseed-seed=last: no previous seed is recorded in pytest's cache "
            "(run once with a seed, and keep the cache provider enabled)"
        )
    return last


def _worker_input(config: pytest.Config) -> dict[str, Any]:
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return workerinput


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Give every xdist worker the controller's seed and anchor."""
    settings = node.config.stash[CONFIG_KEY]
    node.workerinput["mockseed_seed"] = settings.seed_value
    node.workerinput["mockseed_anchor"] = settings.anchor_time.isoformat()


def pytest_report_header(config: pytest.Config) -> str:
    """Say which seed and events this run uses, and every setting changed."""
    settings = config.stash[CONFIG_KEY]
    line = f"mockseed: seed={settings.seed_value} events={settings.events}"
    changed = [
        f"{option.name}={_shown(getattr(settings, option.name))} "
        f"(from {settings.source_of(option.name)})"
        for option in OPTIONS
        if settings.source_of(option.name) != "default"
    ]
    return ", ".join([line, *changed])


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return mask_url(str(value))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the services early when a collected test needs them.

    Starting here, rather than in the first test, lets the header line say
    where they run; a failure is kept and raised by the fixture that needs
    the service, in every test that asks for it. The database layer is
    imported in the background meanwhile (:mod:`pytest_mockseed.preload`).
    """
    needed: set[str] = set()
    for item in session.items:
        needed |= SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
    if not needed:
        return

    session.config.stash[PRELOAD_KEY].start()
    services = session.config.stash[SERVICES_KEY]
    from pytest_mockseed.errors import ServiceUnavailable

    for name in sorted(needed, reverse=True):
        try:
            services.postgres() if name == "mockseed_postgres" else services.kafka()
        except ServiceUnavailable:
            continue


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    """Say where PostgreSQL and the broker run, once they have started."""
    described = config.stash[SERVICES_KEY].describe()
    return f"mockseed: {described}" if described else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the command line that replays a failed test's world."""
    report = yield
    if report.failed and "mockseed_postgres" in getattr(item, "fixturenames", ()):
        settings = item.config.stash[CONFIG_KEY]
        anchor = item.config.stash.get(WORLD_ANCHOR_KEY, settings.anchor_time)
        report.sections.append(
            ("mockseed", _reproduce_line(item.nodeid, settings, anchor))
        )
    return report


def _reproduce_line(nodeid: str, settings: MockseedConfig, anchor: datetime) -> str:
    flags = [
        f"--mockseed-seed={settings.seed_value}",
        f"--mockseed-events={settings.events}",
        f"--mockseed-anchor={anchor.isoformat()}",
    ]
    if settings.skip_default_setup:
        flags.append("--mockseed-skip-default-setup")
    if settings.extra_events:
        flags.append("--mockseed-extra-events")
    return f"reproduce with: pytest '{nodeid}' {' '.join(flags)}"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the services once the session fixtures are torn down.

    Stopping here, not only at unconfigure, matters under xdist: a worker
    reports that it finished right after this hook, and the controller may
    end it before it unconfigures.
    """
    _stop_services(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop every service still running, whatever happened before."""
    _stop_services(config)


def _stop_services(config: pytest.Config) -> None:
    preload = config.stash.get(PRELOAD_KEY, None)
    if preload is not None:
        preload.join()

    services = config.stash.get(SERVICES_KEY, None)
    if services is None:
        return
    for problem in services.stop_all():
        config.issue_config_time_warning(
            pytest.PytestWarning(f"mockseed: could not stop a service: {problem}"),
            stacklevel=2,
        )
