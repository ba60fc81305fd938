"""Error events and the trace, generated as plain rows from a seeded stream.

Generation is kept apart from persistence (:mod:`.persist`): the same rows
go to the database through the ORM or through ``COPY``, and both paths give
identical tables. Values come from small fixed pools picked by a seeded
:class:`random.Random`, not from Faker, because at 100,000 events the cost
of making values would otherwise dwarf the cost of storing them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# The reference's sample block: eight samples, then one CSP report.
SAMPLES: tuple[tuple[str, str], ...] = (
    ("python", "Python"),
    ("javascript", "JavaScript"),
    ("java", "Java"),
    ("ruby", "Ruby"),
    ("cocoa", "Cocoa"),
    ("php", "PHP"),
    ("cocoa", "React Native"),
    ("python", "PII"),
    ("csp", "CSP"),
)
EXTRA_PLATFORMS = ("ruby", "php", "python", "java", "javascript")
LEVELS = ("error", "error", "error", "fatal", "warning")
ENVIRONMENTS = ("production", "production", "staging", "alpha", "beta", "")
EXTRA_EVENTS_PER_PROJECT = 45
# Each project of the reference consumes nine environment names.
ENVIRONMENTS_PER_PROJECT = 9
_USERNAMES = (
    "ada",
    "grace",
    "linus",
    "margaret",
    "ken",
    "barbara",
    "dennis",
    "frances",
)
_CITIES = (
    ("San Francisco", "US"),
    ("Melbourne", "AU"),
    ("London", "GB"),
)
_SLOW_QUERY = (
    "DB::Exception: Timeout exceeded: elapsed 30.001 seconds, maximum: 30\n"
    "  while reading column events.message at /var/lib/store/events\n"
    "  in query: SELECT count() FROM events WHERE project_id = 4"
)
_HOUR = 3600.0
EVENT_WINDOW_SECONDS = 24 * _HOUR


def environment_of_project(index: int) -> str:
    """The environment name project number ``index`` gets, as in the reference."""
    return ENVIRONMENTS[(index * ENVIRONMENTS_PER_PROJECT) % len(ENVIRONMENTS)]


@dataclass(frozen=True)
class ProjectRef:
    """What event generation needs to know of a project."""

    id: int
    index: int
    slug: str


def error_events(
    rng: random.Random, project: ProjectRef, count: int, anchor: datetime
) -> Iterator[dict[str, Any]]:
    """Yield exactly ``count`` error events for ``project``, the samples cycling."""
    release = f"{project.slug}@{rng.getrandbits(48):012x}"
    for number in range(count):
        platform, sample = SAMPLES[number % len(SAMPLES)]
        environment = ENVIRONMENTS[(project.index + 1 + number) % len(ENVIRONMENTS)]
        message = (
            _SLOW_QUERY if sample == "PHP" else f"This is an example {sample} exception"
        )
        level = "warning" if platform == "csp" else "error"
        yield _event(
            rng, project, anchor, platform, level, message, environment, release
        )


def extra_events(
    rng: random.Random, project: ProjectRef, anchor: datetime
) -> Iterator[dict[str, Any]]:
    """Yield the 45 extra events of ``--mockseed-extra-events`` for ``project``."""
    for number in range(EXTRA_EVENTS_PER_PROJECT):
        platform = EXTRA_PLATFORMS[number % len(EXTRA_PLATFORMS)]
        level = LEVELS[number % len(LEVELS)]
        environment = ENVIRONMENTS[number % len(ENVIRONMENTS)]
        message = f"This is a mostly useless example {platform} exception"
        yield _event(rng, project, anchor, platform, level, message, environment, None)


def _event(
    rng: random.Random,
    project: ProjectRef,
    anchor: datetime,
    platform: str,
    level: str,
    message: str,
    environment: str,
    release: str | None,
) -> dict[str, Any]:
    timestamp = anchor - timedelta(seconds=rng.random() * EVENT_WINDOW_SECONDS)
    tags = {
        "level": level,
        "server_name": "web01.example.org",
        "environment": environment,
    }
    return {
        "event_id": f"{rng.getrandbits(128):032x}",
        "project_id": project.id,
        "type": "error",
        "platform": platform,
        "level": level,
        "message": message,
        "environment": environment,
        "release": release,
        "timestamp": timestamp,
        "tags": tags,
        "data": {"user": _user(rng), "sdk": _sdk(platform)},
        "trace_id": None,
        "span_id": None,
        "parent_span_id": None,
        "transaction": None,
    }


def _user(rng: random.Random) -> dict[str, Any]:
    # One draw of random bits serves the whole user: at 100,000 events,
    # separate choice() and randint() calls cost more than storing the rows.
    bits = rng.getrandbits(48)
    name = _USERNAMES[bits % len(_USERNAMES)]
    city, country = _CITIES[(bits >> 8) % len(_CITIES)]
    first = 1 + (bits >> 16 & 255) % 223
    address = f"{first}.{bits >> 24 & 255}.{bits >> 32 & 255}.{bits >> 40 & 255}"
    return {
        "username": name,
        "email": f"{name}@example.com",
        "ip_address": address,
        "geo": {"city": city, "country_code": country},
    }


def _sdk(platform: str) -> dict[str, str] | None:
    return (
        {"name": "raven-js", "version": "2.1.0"} if platform == "javascript" else None
    )


@dataclass(frozen=True)
class TraceNode:
    """One transaction of the mock trace and its children."""

    project: str
    transaction: str
    children: tuple[TraceNode, ...] = ()


TRACE = TraceNode(
    "Fire",
    "/plants/:plantId/",
    (
        TraceNode(
            "Earth",
            "/api/plants/",
            (
                TraceNode("Wind", "/products/all/"),
                TraceNode("Water", "/analytics/"),
                TraceNode(
                    "Heart",
                    "tasks.create_invoice",
                    tuple(
                        TraceNode("Heart", "tasks.process_invoice") for _ in range(4)
                    ),
                ),
            ),
        ),
    ),
)
TRACE_SECONDS = 4.0


def trace_transactions(
    rng: random.Random, project_ids: dict[str, int], anchor: datetime
) -> Iterator[dict[str, Any]]:
    """Yield the nine transactions of one distributed trace ending at ``anchor``."""
    trace_id = f"{rng.getrandbits(128):032x}"
    start = anchor - timedelta(seconds=TRACE_SECONDS)
    yield from _transactions(rng, TRACE, trace_id, None, start, project_ids)


def _transactions(
    rng: random.Random,
    node: TraceNode,
    trace_id: str,
    parent_span_id: str | None,
    start: datetime,
    project_ids: dict[str, int],
) -> Iterator[dict[str, Any]]:
    span_id = f"{rng.getrandbits(64):016x}"
    duration = TRACE_SECONDS / (2 if parent_span_id else 1) * (0.5 + rng.random() / 2)
    yield {
        "event_id": f"{rng.getrandbits(128):032x}",
        "project_id": project_ids[node.project],
        "type": "transaction",
        "platform": "javascript" if parent_span_id is None else "python",
        "level": "info",
        "message": node.transaction,
        "environment": "production",
        "release": None,
        "timestamp": start + timedelta(seconds=duration),
        "tags": {"transaction": node.transaction},
        "data": {"start_timestamp": start.isoformat(), "duration_seconds": duration},
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "transaction": node.transaction,
    }
    for child in node.children:
        yield from _transactions(rng, child, trace_id, span_id, start, project_ids)
