"""Seed the world once into a template database, then clone it for the tests.

Seeding is the expensive part of a run, so it happens once per run (once per
xdist worker): into a template database, which then stays closed, because
PostgreSQL can only clone a database nobody is connected to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pytest_mockseed.config import MockseedConfig
from pytest_mockseed.database import DatabaseJanitor
from pytest_mockseed.models import metadata
from pytest_mockseed.producer import ConfirmingProducer
from pytest_mockseed.scenario import World, main

logger = logging.getLogger(__name__)

SeedHook = Callable[[World, Session], None]


@dataclass(frozen=True)
class SeededTemplate:
    """The seeded template database and what the scenario put in it."""

    name: str
    world: World


def seed_template(
    janitor: DatabaseJanitor,
    settings: MockseedConfig,
    producer: ConfirmingProducer | None,
    extend: SeedHook | None = None,
    name: str | None = None,
) -> SeededTemplate:
    """Create a template database, build the schema, run the scenario, commit.

    ``extend`` runs after the scenario in the same transaction: the plugin
    passes the ``pytest_mockseed_seed`` hook there. ``name`` defaults to a
    fresh name of this run.
    """
    name = name or janitor.new_name("tpl")
    engine = create_engine(janitor.create(name), poolclass=NullPool)
    try:
        world = seed_into(engine, settings, producer, extend)
    finally:
        engine.dispose()

    logger.debug("template: seeded %s with seed %s", name, settings.seed_value)
    return SeededTemplate(name, world)


def seed_into(
    engine: Engine,
    settings: MockseedConfig,
    producer: ConfirmingProducer | None,
    extend: SeedHook | None = None,
) -> World:
    """Create the schema when absent, run the scenario, run ``extend``, commit.

    The one seeding sequence: the plugin's template and the ``mockseed``
    command both go through it, so they write the same rows.
    """
    metadata.create_all(engine)
    with Session(engine) as session:
        world = main(
            session,
            producer,
            events_per_project=settings.events,
            skip_default_setup=settings.skip_default_setup,
            extra_events=settings.extra_events,
            seed=settings.seed_value,
            anchor=settings.anchor,
        )
        if extend is not None:
            extend(world, session)
        session.commit()
    return world
