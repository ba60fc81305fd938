"""Incidents opened by alert rules, with their projects, log and subscribers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pytest_mockseed.models.alerts import AlertRule
from pytest_mockseed.models.base import Base, IntEnumType, Timestamp
from pytest_mockseed.models.enums import (
    IncidentActivityType,
    IncidentStatus,
    IncidentStatusMethod,
    IncidentType,
)
from pytest_mockseed.models.organizations import Organization, Project, User


class Incident(Base):
    """A period during which an alert rule's threshold was crossed.

    ``identifier`` counts from 1 within the organization (the number users
    see); the database only guarantees it is unique there.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("organization_id", "identifier"),
        Index(None, "alert_rule_id", "type", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    # RESTRICT: a rule with incidents cannot be deleted (PROTECT upstream).
    alert_rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="RESTRICT")
    )
    identifier: Mapped[int]
    detection_uuid: Mapped[uuid.UUID | None]
    status: Mapped[IncidentStatus] = mapped_column(
        IntEnumType(IncidentStatus), default=IncidentStatus.OPEN
    )
    status_method: Mapped[IncidentStatusMethod] = mapped_column(
        IntEnumType(IncidentStatusMethod),
        default=IncidentStatusMethod.RULE_TRIGGERED,
    )
    type: Mapped[IncidentType] = mapped_column(IntEnumType(IncidentType))
    title: Mapped[str] = mapped_column(Text)
    date_started: Mapped[datetime] = mapped_column(Timestamp)
    date_detected: Mapped[datetime] = mapped_column(Timestamp)
    date_added: Mapped[datetime] = mapped_column(Timestamp)
    date_closed: Mapped[datetime | None] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship()
    alert_rule: Mapped[AlertRule] = relationship(back_populates="incidents")
    project_links: Mapped[list[IncidentProject]] = relationship(
        back_populates="incident", cascade="all, delete-orphan"
    )
    projects: AssociationProxy[list[Project]] = association_proxy(
        "project_links",
        "project",
        creator=lambda project: IncidentProject(project=project),
    )
    activities: Mapped[list[IncidentActivity]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="IncidentActivity.id",
    )
    subscriptions: Mapped[list[IncidentSubscription]] = relationship(
        back_populates="incident", cascade="all, delete-orphan"
    )


class IncidentProject(Base):
    """Link row: an incident concerns a project."""

    __tablename__ = "incident_projects"
    __table_args__ = (UniqueConstraint("incident_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))

    incident: Mapped[Incident] = relationship(back_populates="project_links")
    project: Mapped[Project] = relationship()


class IncidentActivity(Base):
    """An entry of an incident's log; values are stored as strings."""

    __tablename__ = "incident_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    type: Mapped[IncidentActivityType] = mapped_column(
        IntEnumType(IncidentActivityType)
    )
    value: Mapped[str | None] = mapped_column(Text)
    previous_value: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    date_added: Mapped[datetime] = mapped_column(Timestamp)
    notification_uuid: Mapped[uuid.UUID | None]

    incident: Mapped[Incident] = relationship(back_populates="activities")
    user: Mapped[User | None] = relationship()


class IncidentSubscription(Base):
    """A user who follows an incident; one row per (incident, user)."""

    __tablename__ = "incident_subscriptions"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    incident: Mapped[Incident] = relationship(back_populates="subscriptions")
    user: Mapped[User] = relationship()
