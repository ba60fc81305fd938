"""Helpers the domain tests share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pytest_mockseed.domain import create_alert_rule
from pytest_mockseed.models import (
    AlertRule,
    AlertRuleThresholdType,
    Organization,
    Project,
)


def make_rule(
    session: Session, organization: Organization, project: Project, **changes: Any
) -> AlertRule:
    """The scenario's "My Alert Rule", with ``changes`` applied."""
    arguments: dict[str, Any] = {
        "projects": [project],
        "name": "My Alert Rule",
        "query": "level:error",
        "aggregate": "count()",
        "time_window": 10,
        "threshold_type": AlertRuleThresholdType.ABOVE,
        "threshold_period": 1,
    }
    arguments.update(changes)
    return create_alert_rule(session, organization, **arguments)
