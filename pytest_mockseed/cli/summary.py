"""What a seeding run did, as a table for people and a JSON object for scripts.

Both forms carry the same facts: rows per table, the occurrences the broker
confirmed, the time taken, and the seed and anchor that reproduce the world.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.table import Table

OCCURRENCES_TOPIC = "ingest-occurrences"
NO_BROKER = (
    "no broker: the feedback occurrence went nowhere (give --kafka-bootstrap or set "
    "MOCKSEED_KAFKA_BOOTSTRAP); its feedback row says delivered=false"
)


@dataclass(frozen=True)
class Summary:
    """The outcome of one seeding run; ``database`` is already masked."""

    database: str
    kafka_bootstrap: str | None
    seed: int
    anchor: datetime
    events_per_project: int
    skip_default_setup: bool
    extra_events: bool
    added_to_existing: bool
    tables: Mapping[str, int]
    projects: Mapping[str, int]
    error_events: int
    transactions: int
    occurrences: int
    occurrence_id: str | None
    seconds: float

    def reproduce(self) -> str:
        """The options that seed the same rows into an empty database."""
        flags = [
            f"--seed {self.seed}",
            f"--anchor {self.anchor.isoformat()}",
            f"--events {self.events_per_project}",
        ]
        if self.skip_default_setup:
            flags.append("--skip-default-setup")
        if self.extra_events:
            flags.append("--extra-events")
        return " ".join(flags)

    def as_json(self) -> dict[str, Any]:
        """Every fact as plain JSON values."""
        return {
            "database": self.database,
            "kafka_bootstrap": self.kafka_bootstrap,
            "seed": self.seed,
            "anchor": self.anchor.isoformat(),
            "events_per_project": self.events_per_project,
            "skip_default_setup": self.skip_default_setup,
            "extra_events": self.extra_events,
            "added_to_existing": self.added_to_existing,
            "tables": dict(self.tables),
            "projects": dict(self.projects),
            "error_events": self.error_events,
            "transactions": self.transactions,
            "occurrences": {
                "produced": self.occurrences,
                "topic": OCCURRENCES_TOPIC,
                "id": self.occurrence_id,
                "note": None if self.kafka_bootstrap else NO_BROKER,
            },
            "seconds": round(self.seconds, 3),
        }

    def table(self) -> Table:
        """Rows per table, then occurrences and time, in one rich table."""
        title = "mockseed: seeded world"
        if self.added_to_existing:
            title = "mockseed: added to the world already there"
        table = Table(title=title)
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, count in self.tables.items():
            table.add_row(name, str(count))

        table.add_section()
        table.add_row("occurrences produced", str(self.occurrences))
        table.add_row("time taken", f"{self.seconds:.2f} s")
        return table

    def notes(self) -> list[str]:
        """Where the rows and the occurrence went, and how to seed them again."""
        broker = NO_BROKER
        if self.kafka_bootstrap is not None:
            broker = f"broker: {self.kafka_bootstrap}, topic {OCCURRENCES_TOPIC}"
        return [
            f"database: {self.database}",
            broker,
            f"the same rows again: {self.reproduce()}",
        ]
