"""The business rules that create the seeded world's most important rows.

Each rule takes the SQLAlchemy session first, checks all of its input,
writes with ``flush`` only (the caller owns the transaction), and refuses
bad input with one exception type, :class:`ValidationError`. The rules know
nothing of pytest or of how PostgreSQL and Kafka were started.
"""

from __future__ import annotations

from pytest_mockseed.domain.alerts import (
    create_alert_rule,
    create_alert_rule_trigger,
    update_alert_rule_trigger_actions,
)
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.domain.feedback import (
    FeedbackCreationSource,
    FeedbackResult,
    create_feedback_issue,
    create_feedback_issues,
)
from pytest_mockseed.domain.feedback_event import FilterReason
from pytest_mockseed.domain.incidents import (
    create_incident,
    create_incident_activity,
    update_incident_status,
)
from pytest_mockseed.domain.occurrence import OCCURRENCES_TOPIC, OUTCOMES_TOPIC
from pytest_mockseed.domain.spam import SpamClassifier, default_spam_classifier

__all__ = [
    "OCCURRENCES_TOPIC",
    "OUTCOMES_TOPIC",
    "FeedbackCreationSource",
    "FeedbackResult",
    "FilterReason",
    "SpamClassifier",
    "ValidationError",
    "create_alert_rule",
    "create_alert_rule_trigger",
    "create_feedback_issue",
    "create_feedback_issues",
    "create_incident",
    "create_incident_activity",
    "default_spam_classifier",
    "update_alert_rule_trigger_actions",
    "update_incident_status",
]
