"""The two commands: ``seed`` into a given database, ``up`` with servers of its own."""

from __future__ import annotations

from pytest_mockseed.cli import seeding
from pytest_mockseed.cli.output import Output
from pytest_mockseed.cli.up import up
from pytest_mockseed.config import MockseedConfig


def run(
    command: str, settings: MockseedConfig, *, json_output: bool, add: bool = False
) -> int:
    """Run ``command`` ("seed" or "up") and return its exit status."""
    output = Output(json_output=json_output)
    if command == "seed":
        return seed(settings, output, add=add)
    return up(settings, output)


def seed(settings: MockseedConfig, output: Output, *, add: bool) -> int:
    """``mockseed seed``: the scenario into the database at ``--db-url``."""
    url = settings.db_url
    assert url is not None, "the command line requires a URL for seed"
    with output.phases(seeding.STEPS) as phases:
        summary = seeding.seed_database(
            url, settings.kafka_bootstrap, settings, phases, add=add
        )
    output.summary(summary)
    return 0
