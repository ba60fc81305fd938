# Meta and Params are factory_boy's option holders, not API to document.
"""Factories for cron monitors, their environments and their check-ins."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factory.declarations import (
    LazyAttribute,
    LazyAttributeSequence,
    LazyFunction,
    SelfAttribute,
    SubFactory,
)

from pytest_mockseed.factories.base import (
    FAKER,
    MockseedFactory,
    anchor,
    between,
    pick,
    random_uuid,
    slugify,
)
from pytest_mockseed.factories.organizations import (
    EnvironmentFactory,
    OrganizationFactory,
    ProjectFactory,
)
from pytest_mockseed.models import (
    CheckInStatus,
    Monitor,
    MonitorCheckIn,
    MonitorEnvironment,
    MonitorStatus,
    MonitorType,
    ObjectStatus,
    ScheduleType,
)

SCHEDULES = ("* * * * *", "0 * * * *", "0 0 * * *")
TASK_NAMES = (
    "send-daily-digest",
    "cleanup-expired-sessions",
    "rebuild-search-index",
    "sync-billing-usage",
    "rotate-api-keys",
    "refresh-exchange-rates",
    "purge-deleted-projects",
)


def _config() -> dict[str, Any]:
    """Return a crontab monitor config; ``schedule`` is the required key."""
    return {
        "schedule": FAKER.random.choice(SCHEDULES),
        "schedule_type": int(ScheduleType.CRONTAB),
        "checkin_margin": None,
        "max_runtime": None,
        "timezone": "UTC",
    }


class MonitorFactory(MockseedFactory[Monitor]):
    """An active cron-job monitor of a new project."""

    class Meta:
        model = Monitor

    organization = SubFactory(OrganizationFactory)
    project = SubFactory(ProjectFactory, organization=SelfAttribute("..organization"))
    guid = LazyFunction(random_uuid)
    name = pick(TASK_NAMES)
    slug = LazyAttributeSequence(lambda o, n: f"{slugify(o.name)}-{n}")
    status = ObjectStatus.ACTIVE
    type = MonitorType.CRON_JOB
    config = LazyFunction(_config)
    date_added = LazyAttribute(lambda o: between(o.project.date_added, anchor()))


def _next_checkin(monitor_environment: Any) -> datetime | None:
    """Check-ins are expected an hour after the last one, as the scenario sets."""
    last: datetime | None = monitor_environment.last_checkin
    return None if last is None else last + timedelta(minutes=60)


class MonitorEnvironmentFactory(MockseedFactory[MonitorEnvironment]):
    """A monitor's state in a new environment of its organization."""

    class Meta:
        model = MonitorEnvironment

    monitor = SubFactory(MonitorFactory)
    environment = SubFactory(
        EnvironmentFactory,
        organization=SelfAttribute("..monitor.organization"),
    )
    status = MonitorStatus.OK
    date_added = SelfAttribute("monitor.date_added")
    last_checkin = LazyAttribute(lambda o: between(o.date_added, anchor()))
    next_checkin = LazyAttribute(_next_checkin)


def _date_updated(checkin: Any) -> datetime:
    """A finished check-in was last updated when its run ended."""
    started: datetime = checkin.date_added
    return started + timedelta(milliseconds=checkin.duration or 0)


class MonitorCheckInFactory(MockseedFactory[MonitorCheckIn]):
    """A finished check-in of a monitor in one environment."""

    class Meta:
        model = MonitorCheckIn

    monitor_environment = SubFactory(MonitorEnvironmentFactory)
    monitor = SelfAttribute("monitor_environment.monitor")
    project = SelfAttribute("monitor.project")
    guid = LazyFunction(random_uuid)
    status = pick((CheckInStatus.OK, CheckInStatus.ERROR))
    duration = LazyFunction(lambda: FAKER.random.randint(50, 120_000))
    date_added = LazyAttribute(
        lambda o: between(o.monitor_environment.date_added, anchor())
    )
    expected_time = SelfAttribute("date_added")
    date_updated = LazyAttribute(_date_updated)
