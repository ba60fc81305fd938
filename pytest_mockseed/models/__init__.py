"""SQLAlchemy models and enumerations of the seeded error-monitoring world.

Table names and enum values are public: users query the tables in their
tests and compare against the enums. ``metadata.create_all(engine)`` builds
the whole schema.
"""

from __future__ import annotations

from pytest_mockseed.models.alerts import (
    AlertRule,
    AlertRuleProject,
    AlertRuleTrigger,
    AlertRuleTriggerAction,
)
from pytest_mockseed.models.base import Base, IntEnumType, StrEnumType, metadata
from pytest_mockseed.models.enums import (
    ActionService,
    ActionTarget,
    AlertRuleDetectionType,
    AlertRuleMonitorType,
    AlertRuleSensitivity,
    AlertRuleStatus,
    AlertRuleThresholdType,
    CheckInStatus,
    Dataset,
    EventType,
    FeedbackCreationSource,
    FeedbackStatus,
    IncidentActivityType,
    IncidentStatus,
    IncidentStatusMethod,
    IncidentType,
    MonitorStatus,
    MonitorType,
    ObjectStatus,
    OrganizationMemberInviteStatus,
    OrganizationStatus,
    ProjectFlags,
    QueryType,
    ScheduleType,
    SnubaQueryType,
    TeamStatus,
    TriggerStatus,
)
from pytest_mockseed.models.events import Event
from pytest_mockseed.models.feedback import Feedback
from pytest_mockseed.models.incidents import (
    Incident,
    IncidentActivity,
    IncidentProject,
    IncidentSubscription,
)
from pytest_mockseed.models.monitors import Monitor, MonitorCheckIn, MonitorEnvironment
from pytest_mockseed.models.organizations import (
    Broadcast,
    Environment,
    EnvironmentProject,
    Organization,
    OrganizationAccessRequest,
    OrganizationMember,
    Project,
    ProjectTeam,
    Team,
    User,
)

__all__ = [
    "ActionService",
    "ActionTarget",
    "AlertRule",
    "AlertRuleDetectionType",
    "AlertRuleMonitorType",
    "AlertRuleProject",
    "AlertRuleSensitivity",
    "AlertRuleStatus",
    "AlertRuleThresholdType",
    "AlertRuleTrigger",
    "AlertRuleTriggerAction",
    "Base",
    "Broadcast",
    "CheckInStatus",
    "Dataset",
    "Environment",
    "EnvironmentProject",
    "Event",
    "EventType",
    "Feedback",
    "FeedbackCreationSource",
    "FeedbackStatus",
    "Incident",
    "IncidentActivity",
    "IncidentActivityType",
    "IncidentProject",
    "IncidentStatus",
    "IncidentStatusMethod",
    "IncidentSubscription",
    "IncidentType",
    "IntEnumType",
    "Monitor",
    "MonitorCheckIn",
    "MonitorEnvironment",
    "MonitorStatus",
    "MonitorType",
    "ObjectStatus",
    "Organization",
    "OrganizationAccessRequest",
    "OrganizationMember",
    "OrganizationMemberInviteStatus",
    "OrganizationStatus",
    "Project",
    "ProjectFlags",
    "ProjectTeam",
    "QueryType",
    "ScheduleType",
    "SnubaQueryType",
    "StrEnumType",
    "Team",
    "TeamStatus",
    "TriggerStatus",
    "User",
    "metadata",
]
