# Meta and Params are factory_boy's option holders, not API to document.
"""Factories for error events and transactions.

Values follow the shape of the reference's sample events: a level and
environment in the tags, a release named after the project, a user and an
SDK in ``data``, and a trace context linking errors to transactions.
"""

from __future__ import annotations

from typing import Any

from factory.declarations import LazyAttribute, LazyFunction, SubFactory

from pytest_mockseed.factories.base import (
    FAKER,
    MockseedFactory,
    ago,
    pick,
    random_hex,
)
from pytest_mockseed.factories.organizations import STAGES, ProjectFactory
from pytest_mockseed.models import Event, EventType

LEVELS = ("error", "error", "error", "fatal", "warning")
EXCEPTIONS = {
    "python": ("ValueError", "KeyError", "ZeroDivisionError"),
    "javascript": ("TypeError", "ReferenceError", "RangeError"),
    "java": ("NullPointerException", "IllegalStateException"),
    "ruby": ("NoMethodError", "ArgumentError"),
    "php": ("ErrorException", "InvalidArgumentException"),
    "cocoa": ("NSInvalidArgumentException", "NSRangeException"),
}
GENERIC_EXCEPTIONS = ("Error", "TimeoutError")
ROUTES = ("/api/plants/", "/products/all/", "/checkout/", "/analytics/", "/login/")


def _platform(event: Any) -> str:
    """Events take their project's platform, or "other" when it has none."""
    platform: str | None = event.project.platform
    return platform or "other"


def _message(event: Any) -> str:
    """Name an exception of the event's platform, then say what went wrong."""
    exception = FAKER.random.choice(EXCEPTIONS.get(event.platform, GENERIC_EXCEPTIONS))
    return f"{exception}: {FAKER.sentence(nb_words=6)}"


def _release(event: Any) -> str:
    version = f"{FAKER.random.randint(1, 3)}.{FAKER.random.randint(0, 20)}.0"
    return f"{event.project.slug}@{version}"


def _tags(event: Any) -> dict[str, str]:
    tags = {
        "level": event.level,
        "environment": event.environment,
        "server_name": "web01.example.org",
    }
    if event.release is not None:
        tags["release"] = event.release
    return tags


def _data(event: Any) -> dict[str, Any]:
    """Return the payload: who saw it, which SDK sent it, and its trace."""
    first_name = FAKER.first_name()
    return {
        "logentry": {"formatted": event.message},
        "user": {
            "id": str(FAKER.random.randint(1, 1_000_000)),
            "username": first_name.lower(),
            "email": f"{first_name.lower()}@example.com",
            "ip_address": FAKER.ipv4_public(),
        },
        "sdk": {"name": f"sentry.{event.platform}", "version": "2.1.0"},
        "contexts": {
            "trace": {
                "trace_id": event.trace_id,
                "span_id": event.span_id,
                "parent_span_id": event.parent_span_id,
            }
        },
    }


class EventFactory(MockseedFactory[Event]):
    """An error event of a new project, in its own trace."""

    class Meta:
        model = Event

    project = SubFactory(ProjectFactory)
    event_id = LazyFunction(random_hex)
    type = EventType.ERROR
    platform = LazyAttribute(_platform)
    level = pick(LEVELS)
    message = LazyAttribute(_message)
    environment = pick(STAGES)
    release = LazyAttribute(_release)
    timestamp = ago(14)
    trace_id = LazyFunction(random_hex)
    span_id = LazyFunction(lambda: random_hex(16))
    parent_span_id = None
    transaction = None
    tags = LazyAttribute(_tags)
    data = LazyAttribute(_data)


def _transaction_data(event: Any) -> dict[str, Any]:
    """Add what a transaction carries beyond an error: its duration and spans."""
    data = _data(event)
    data["transaction"] = event.transaction
    data["duration_ms"] = FAKER.random.randint(5, 4000)
    data["spans"] = []
    return data


class TransactionEventFactory(EventFactory):
    """A root transaction of a new trace; pass ``parent_span_id`` for a child."""

    type = EventType.TRANSACTION
    level = "info"
    transaction = pick(ROUTES)
    message = LazyAttribute(lambda o: o.transaction)
    data = LazyAttribute(_transaction_data)
