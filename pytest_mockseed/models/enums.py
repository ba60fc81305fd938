"""The reference's enumerations, with the values it stores.

The integers are the ones the reference product writes to its database and
to Kafka; keeping them lets data seeded here be read by code written for the
reference. Where the reference stores strings, the enum is a ``StrEnum``.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag, StrEnum


class OrganizationStatus(IntEnum):
    """Lifecycle of an organization."""

    ACTIVE = 0
    PENDING_DELETION = 1
    DELETION_IN_PROGRESS = 2


class OrganizationMemberInviteStatus(IntEnum):
    """Whether a membership is settled or still an invitation or request."""

    APPROVED = 0
    REQUESTED_TO_BE_INVITED = 1
    REQUESTED_TO_JOIN = 2


class TeamStatus(IntEnum):
    """Lifecycle of a team."""

    ACTIVE = 0
    PENDING_DELETION = 1
    DELETION_IN_PROGRESS = 2


class ObjectStatus(IntEnum):
    """Generic lifecycle shared by projects, monitors and trigger actions."""

    ACTIVE = 0
    DISABLED = 1
    HIDDEN = 1
    PENDING_DELETION = 2
    DELETION_IN_PROGRESS = 3


class MonitorStatus(IntEnum):
    """State of a monitor in one environment."""

    ACTIVE = 0
    DISABLED = 1
    PENDING_DELETION = 2
    DELETION_IN_PROGRESS = 3
    OK = 4
    ERROR = 5
    MISSED_CHECKIN = 6
    TIMEOUT = 7


class MonitorType(IntEnum):
    """Kind of monitor; the scenario only makes cron jobs."""

    UNKNOWN = 0
    CRON_JOB = 3


class ScheduleType(IntEnum):
    """How a monitor's ``config["schedule"]`` is to be read."""

    UNKNOWN = 0
    CRONTAB = 1
    INTERVAL = 2


class CheckInStatus(IntEnum):
    """Outcome of one monitor check-in."""

    UNKNOWN = 0
    OK = 1
    ERROR = 2
    IN_PROGRESS = 3
    MISSED = 4
    TIMEOUT = 5


class ProjectFlags(IntFlag):
    """Bits of ``projects.flags``, in the reference's bit order."""

    HAS_RELEASES = 1
    HAS_ISSUE_ALERTS_TARGETING = 2
    HAS_TRANSACTIONS = 4
    HAS_ALERT_FILTERS = 8
    HAS_SESSIONS = 16
    HAS_PROFILES = 32
    HAS_REPLAYS = 64
    HAS_FEEDBACKS = 128
    HAS_NEW_FEEDBACKS = 256


class EventType(StrEnum):
    """What a row of ``events`` holds: an error event or a transaction."""

    ERROR = "error"
    TRANSACTION = "transaction"


class AlertRuleStatus(IntEnum):
    """Lifecycle of a metric alert rule; SNAPSHOT rows are hidden copies."""

    PENDING = 0
    SNAPSHOT = 4
    DISABLED = 5
    NOT_ENOUGH_DATA = 6


class AlertRuleThresholdType(IntEnum):
    """Direction in which a metric crosses its threshold."""

    ABOVE = 0
    BELOW = 1
    ABOVE_AND_BELOW = 2


class AlertRuleMonitorType(IntEnum):
    """Whether a rule watches continuously or only once activated."""

    CONTINUOUS = 0
    ACTIVATED = 1


class AlertRuleDetectionType(StrEnum):
    """How a rule decides that a threshold is crossed."""

    STATIC = "static"
    PERCENT = "percent"
    DYNAMIC = "dynamic"


class AlertRuleSensitivity(StrEnum):
    """Sensitivity of a dynamic (anomaly-detection) rule."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SnubaQueryType(IntEnum):
    """Family of the query an alert rule runs."""

    ERROR = 0
    PERFORMANCE = 1
    CRASH_RATE = 2


#: Shorter name used where the rule's ``query_type`` is meant.
QueryType = SnubaQueryType


class Dataset(StrEnum):
    """Dataset an alert rule queries; each query type allows only some."""

    EVENTS = "events"
    TRANSACTIONS = "transactions"
    GENERIC_METRICS = "generic_metrics"
    METRICS = "metrics"
    EVENTS_ANALYTICS_PLATFORM = "events_analytics_platform"


class ActionService(IntEnum):
    """Where a trigger action sends its notification."""

    EMAIL = 0
    PAGERDUTY = 1
    SLACK = 2
    MSTEAMS = 3
    SENTRY_APP = 4
    SENTRY_NOTIFICATION = 5
    OPSGENIE = 6
    DISCORD = 7


class ActionTarget(IntEnum):
    """What a trigger action's ``target_identifier`` designates."""

    SPECIFIC = 0
    USER = 1
    TEAM = 2
    SENTRY_APP = 3
    ISSUE_OWNERS = 4
    ESCALATION_POLICY = 5


class TriggerStatus(IntEnum):
    """State of one trigger within an incident."""

    ACTIVE = 0
    RESOLVED = 1


class IncidentStatus(IntEnum):
    """State of an incident; WARNING and CRITICAL are open states."""

    OPEN = 1
    CLOSED = 2
    WARNING = 10
    CRITICAL = 20


class IncidentStatusMethod(IntEnum):
    """What caused the incident's latest status change."""

    MANUAL = 1
    RULE_UPDATED = 2
    RULE_TRIGGERED = 3


class IncidentType(IntEnum):
    """How the incident came to be; the scenario uses ALERT_TRIGGERED."""

    DETECTED = 0
    ALERT_TRIGGERED = 2


class IncidentActivityType(IntEnum):
    """Kind of entry in an incident's activity log."""

    CREATED = 1
    STATUS_CHANGE = 2
    COMMENT = 3
    DETECTED = 4


class FeedbackCreationSource(StrEnum):
    """Path through which a piece of user feedback arrived."""

    NEW_FEEDBACK_ENVELOPE = "new_feedback_envelope"
    USER_REPORT_DJANGO_ENDPOINT = "user_report_sentry_django_endpoint"
    USER_REPORT_ENVELOPE = "user_report_envelope"
    CRASH_REPORT_EMBED_FORM = "crash_report_embed_form"
    UPDATE_USER_REPORTS_TASK = "update_user_reports_task"


class FeedbackStatus(StrEnum):
    """Outcome of the feedback pipeline recorded in ``feedback.status``."""

    ACCEPTED = "accepted"
    FILTERED = "filtered"
