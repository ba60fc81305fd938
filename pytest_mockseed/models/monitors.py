"""Cron monitors, their per-environment state, and their check-ins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pytest_mockseed.models.base import Base, IntEnumType, Timestamp
from pytest_mockseed.models.enums import (
    CheckInStatus,
    MonitorStatus,
    MonitorType,
    ObjectStatus,
)
from pytest_mockseed.models.organizations import Environment, Organization, Project


class Monitor(Base):
    """A scheduled job that is expected to check in (``config["schedule"]``)."""

    __tablename__ = "monitors"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[uuid.UUID] = mapped_column(unique=True)
    slug: Mapped[str] = mapped_column(String(50))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[ObjectStatus] = mapped_column(
        IntEnumType(ObjectStatus), default=ObjectStatus.ACTIVE
    )
    type: Mapped[MonitorType] = mapped_column(
        IntEnumType(MonitorType), default=MonitorType.CRON_JOB
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship()
    project: Mapped[Project] = relationship()
    environments: Mapped[list[MonitorEnvironment]] = relationship(
        back_populates="monitor"
    )


class MonitorEnvironment(Base):
    """A monitor's state in one environment: status and check-in times."""

    __tablename__ = "monitor_environments"
    __table_args__ = (UniqueConstraint("monitor_id", "environment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id"))
    status: Mapped[MonitorStatus] = mapped_column(
        IntEnumType(MonitorStatus), default=MonitorStatus.ACTIVE
    )
    next_checkin: Mapped[datetime | None] = mapped_column(Timestamp)
    last_checkin: Mapped[datetime | None] = mapped_column(Timestamp)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    monitor: Mapped[Monitor] = relationship(back_populates="environments")
    environment: Mapped[Environment] = relationship()


class MonitorCheckIn(Base):
    """One report from a monitored job; duration is in milliseconds."""

    __tablename__ = "monitor_checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[uuid.UUID] = mapped_column(unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    monitor_environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitor_environments.id")
    )
    status: Mapped[CheckInStatus] = mapped_column(IntEnumType(CheckInStatus))
    duration: Mapped[int | None]
    date_added: Mapped[datetime] = mapped_column(Timestamp)
    date_updated: Mapped[datetime] = mapped_column(Timestamp)
    expected_time: Mapped[datetime | None] = mapped_column(Timestamp)

    project: Mapped[Project] = relationship()
    monitor: Mapped[Monitor] = relationship()
    monitor_environment: Mapped[MonitorEnvironment | None] = relationship()
