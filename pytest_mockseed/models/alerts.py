"""Metric alert rules, the projects they watch, their triggers and actions.

The reference keeps the query of a rule in a separate "snuba query" row; here
it lives on the rule itself (``query``, ``aggregate``, ``dataset``,
``query_type``, ``time_window`` and ``resolution``, both in seconds), as the
scope decisions of DOMAIN.md say.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pytest_mockseed.models.base import Base, IntEnumType, StrEnumType, Timestamp
from pytest_mockseed.models.enums import (
    ActionService,
    ActionTarget,
    AlertRuleDetectionType,
    AlertRuleMonitorType,
    AlertRuleSensitivity,
    AlertRuleStatus,
    AlertRuleThresholdType,
    Dataset,
    ObjectStatus,
    SnubaQueryType,
)
from pytest_mockseed.models.organizations import (
    Environment,
    Organization,
    Project,
    Team,
    User,
)

if TYPE_CHECKING:
    from pytest_mockseed.models.incidents import Incident


class AlertRule(Base):
    """A metric alert: a query, a window, and the thresholds of its triggers."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[AlertRuleStatus] = mapped_column(
        IntEnumType(AlertRuleStatus), default=AlertRuleStatus.PENDING
    )
    query: Mapped[str] = mapped_column(Text)
    aggregate: Mapped[str] = mapped_column(Text)
    dataset: Mapped[Dataset] = mapped_column(StrEnumType(Dataset, length=64))
    query_type: Mapped[SnubaQueryType] = mapped_column(IntEnumType(SnubaQueryType))
    time_window: Mapped[int]
    resolution: Mapped[int]
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("environments.id"))
    threshold_type: Mapped[AlertRuleThresholdType | None] = mapped_column(
        IntEnumType(AlertRuleThresholdType)
    )
    threshold_period: Mapped[int]
    resolve_threshold: Mapped[float | None] = mapped_column(Float)
    comparison_delta: Mapped[int | None]
    detection_type: Mapped[AlertRuleDetectionType] = mapped_column(
        StrEnumType(AlertRuleDetectionType, length=16)
    )
    sensitivity: Mapped[AlertRuleSensitivity | None] = mapped_column(
        StrEnumType(AlertRuleSensitivity, length=16)
    )
    seasonality: Mapped[str | None] = mapped_column(String(32))
    monitor_type: Mapped[AlertRuleMonitorType] = mapped_column(
        IntEnumType(AlertRuleMonitorType), default=AlertRuleMonitorType.CONTINUOUS
    )
    description: Mapped[str | None] = mapped_column(String(1000))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    date_added: Mapped[datetime] = mapped_column(Timestamp)
    date_modified: Mapped[datetime] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship()
    environment: Mapped[Environment | None] = relationship()
    user: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()
    project_links: Mapped[list[AlertRuleProject]] = relationship(
        back_populates="alert_rule", cascade="all, delete-orphan"
    )
    projects: AssociationProxy[list[Project]] = association_proxy(
        "project_links",
        "project",
        creator=lambda project: AlertRuleProject(project=project),
    )
    triggers: Mapped[list[AlertRuleTrigger]] = relationship(
        back_populates="alert_rule",
        cascade="all, delete-orphan",
        order_by="AlertRuleTrigger.id",
    )
    incidents: Mapped[list[Incident]] = relationship(back_populates="alert_rule")


class AlertRuleProject(Base):
    """Link row: a rule watches a project."""

    __tablename__ = "alert_rule_projects"
    __table_args__ = (UniqueConstraint("alert_rule_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))

    alert_rule: Mapped[AlertRule] = relationship(back_populates="project_links")
    project: Mapped[Project] = relationship()


class AlertRuleTrigger(Base):
    """A threshold of a rule ("critical", "warning"); labels unique per rule."""

    __tablename__ = "alert_rule_triggers"
    __table_args__ = (UniqueConstraint("alert_rule_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    label: Mapped[str] = mapped_column(Text)
    alert_threshold: Mapped[float] = mapped_column(Float)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    alert_rule: Mapped[AlertRule] = relationship(back_populates="triggers")
    actions: Mapped[list[AlertRuleTriggerAction]] = relationship(
        back_populates="alert_rule_trigger",
        cascade="all, delete-orphan",
        order_by="AlertRuleTriggerAction.id",
    )


class AlertRuleTriggerAction(Base):
    """What happens when a trigger fires: notify a user, team or integration.

    Deleted actions stay as rows with status PENDING_DELETION, as in the
    reference, so ``status`` filters what is live.
    """

    __tablename__ = "alert_rule_trigger_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_rule_trigger_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rule_triggers.id")
    )
    type: Mapped[ActionService] = mapped_column(IntEnumType(ActionService))
    target_type: Mapped[ActionTarget] = mapped_column(IntEnumType(ActionTarget))
    target_identifier: Mapped[str | None] = mapped_column(Text)
    target_display: Mapped[str | None] = mapped_column(Text)
    integration_id: Mapped[int | None]
    sentry_app_id: Mapped[int | None]
    sentry_app_config: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[ObjectStatus] = mapped_column(
        IntEnumType(ObjectStatus), default=ObjectStatus.ACTIVE
    )
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    alert_rule_trigger: Mapped[AlertRuleTrigger] = relationship(
        back_populates="actions"
    )
