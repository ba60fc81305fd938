"""What a trigger does when it fires: its actions, checked by rule 21.

:func:`update_alert_rule_trigger_actions` takes the whole new list of a
trigger's actions, as the reference's API does: actions given with an
``id`` are updated, new ones created, and live ones missing from the list
marked PENDING_DELETION (the reference hides rather than deletes them).
Every action is checked before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pytest_mockseed.determinism import now
from pytest_mockseed.domain import values
from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.models import (
    ActionService,
    ActionTarget,
    AlertRuleTrigger,
    AlertRuleTriggerAction,
    ObjectStatus,
    OrganizationMember,
    Team,
    User,
)

#: Target types each service can notify (rule 21).
SUPPORTED_TARGETS = {
    ActionService.EMAIL: frozenset({ActionTarget.USER, ActionTarget.TEAM}),
    ActionService.PAGERDUTY: frozenset({ActionTarget.SPECIFIC}),
    ActionService.SLACK: frozenset({ActionTarget.SPECIFIC}),
    ActionService.MSTEAMS: frozenset({ActionTarget.SPECIFIC}),
    ActionService.OPSGENIE: frozenset({ActionTarget.SPECIFIC}),
    ActionService.DISCORD: frozenset({ActionTarget.SPECIFIC}),
    ActionService.SENTRY_APP: frozenset({ActionTarget.SENTRY_APP}),
}

#: Priorities each paging service understands; stored in sentry_app_config.
PRIORITIES = {
    ActionService.PAGERDUTY: frozenset({"critical", "warning", "error", "info"}),
    ActionService.OPSGENIE: frozenset({"P1", "P2", "P3", "P4", "P5"}),
}

_KEYS = frozenset(
    {
        *("id", "type", "target_type", "target_identifier", "target_display"),
        *("integration_id", "sentry_app_id", "sentry_app_config", "priority"),
        "sentry_app_installation_uuid",
    }
)


@dataclass(frozen=True, slots=True)
class _ActionSpec:
    """One checked action: the values its row will hold."""

    action_id: int | None
    values: dict[str, Any]


def update_alert_rule_trigger_actions(
    session: Session,
    trigger: AlertRuleTrigger,
    actions: Sequence[Mapping[str, Any]],
) -> list[AlertRuleTriggerAction]:
    """Make ``actions`` the trigger's live actions; return them in order.

    Each action is a mapping with ``type`` (:class:`ActionService`),
    ``target_type`` (:class:`ActionTarget`) and ``target_identifier``, and
    optionally ``id`` (to update), ``integration_id``, ``sentry_app_id``,
    ``sentry_app_config``, ``sentry_app_installation_uuid``, ``priority``
    and ``target_display``.
    """
    if not isinstance(trigger, AlertRuleTrigger):
        raise ValidationError("trigger", "must be an AlertRuleTrigger")
    if isinstance(actions, str | bytes | Mapping) or not isinstance(actions, Sequence):
        raise ValidationError("actions", "must be a list of actions")

    live = {a.id: a for a in trigger.actions if a.status == ObjectStatus.ACTIVE}
    specs = [
        _check_action(session, trigger, live, f"actions[{index}]", action)
        for index, action in enumerate(actions)
    ]

    with session.begin_nested():
        result = [_apply(trigger, live, spec) for spec in specs]
        kept = {spec.action_id for spec in specs}
        for action_id, action in live.items():
            if action_id not in kept:
                action.status = ObjectStatus.PENDING_DELETION
        session.flush()
    return result


def _apply(
    trigger: AlertRuleTrigger,
    live: Mapping[int, AlertRuleTriggerAction],
    spec: _ActionSpec,
) -> AlertRuleTriggerAction:
    """Update the action the spec names, or create a new one."""
    if spec.action_id is None:
        action = AlertRuleTriggerAction(date_added=now(), **spec.values)
        trigger.actions.append(action)
        return action

    action = live[spec.action_id]
    for key, value in spec.values.items():
        setattr(action, key, value)
    return action


def _check_action(
    session: Session,
    trigger: AlertRuleTrigger,
    live: Mapping[int, AlertRuleTriggerAction],
    field: str,
    action: object,
) -> _ActionSpec:
    """Check one action against rule 21 and return its row values."""
    if not isinstance(action, Mapping):
        raise ValidationError(field, "must be an object")
    unknown = sorted(str(key) for key in action if key not in _KEYS)
    if unknown:
        raise ValidationError(field, f"unknown keys: {', '.join(unknown)}")

    action_id = _action_id(live, f"{field}.id", action.get("id"))
    service, target_type, identifier = _target(field, action)
    row: dict[str, Any] = {
        "type": service,
        "target_type": target_type,
        "target_identifier": identifier,
        "target_display": values.optional_text(
            f"{field}.target_display", action.get("target_display"), max_length=256
        ),
        "integration_id": _optional_id(field, action, "integration_id"),
        "sentry_app_id": _optional_id(field, action, "sentry_app_id"),
        "sentry_app_config": _app_config(field, service, action),
    }

    _check_service_needs(field, service, row, action)
    display = _check_recipient(session, trigger, field, target_type, identifier)
    if service == ActionService.EMAIL:
        row["target_display"] = display
    return _ActionSpec(action_id, row)


def _action_id(
    live: Mapping[int, AlertRuleTriggerAction], field: str, raw: object
) -> int | None:
    """An ``id`` must name a live action of this very trigger."""
    if raw is None:
        return None
    action_id = values.row_id(field, raw)
    if action_id not in live:
        raise ValidationError(field, "is not a live action of this trigger")
    return action_id


def _target(
    field: str, action: Mapping[str, Any]
) -> tuple[ActionService, ActionTarget, str]:
    """Read type, target type and identifier, which come together."""
    parts = ("type", "target_type", "target_identifier")
    if any(action.get(part) is None for part in parts):
        raise ValidationError(
            field, "type, target_type and target_identifier must be given together"
        )

    service = values.member(f"{field}.type", ActionService, action["type"])
    if service == ActionService.SENTRY_NOTIFICATION:
        raise ValidationError(
            f"{field}.type", "SENTRY_NOTIFICATION is not for alert rules"
        )
    target_type = values.member(
        f"{field}.target_type", ActionTarget, action["target_type"]
    )
    if target_type not in SUPPORTED_TARGETS[service]:
        raise ValidationError(
            f"{field}.target_type", f"{service.name} cannot notify a {target_type.name}"
        )

    raw = action["target_identifier"]
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    identifier = values.text(
        f"{field}.target_identifier", raw, min_length=1, max_length=256
    )
    return service, target_type, identifier


def _optional_id(field: str, action: Mapping[str, Any], key: str) -> int | None:
    raw = action.get(key)
    if raw is None:
        return None
    return values.row_id(f"{field}.{key}", raw)


def _app_config(
    field: str, service: ActionService, action: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Build sentry_app_config; paging priorities live there too."""
    config = action.get("sentry_app_config")
    if config is not None:
        if not isinstance(config, Mapping):
            raise ValidationError(f"{field}.sentry_app_config", "must be an object")
        config = _json_value(f"{field}.sentry_app_config", config)

    priority = action.get("priority")
    if priority is None:
        return config
    if service not in PRIORITIES:
        raise ValidationError(
            f"{field}.priority", "only PagerDuty and Opsgenie have one"
        )
    if not isinstance(priority, str) or priority not in PRIORITIES[service]:
        allowed = ", ".join(sorted(PRIORITIES[service]))
        raise ValidationError(f"{field}.priority", f"must be one of {allowed}")
    return {**(config or {}), "priority": priority}


def _json_value(field: str, raw: object) -> Any:
    """Return a copy of JSON data that PostgreSQL's jsonb can store."""
    try:
        encoded = json.dumps(raw, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise ValidationError(field, "must be plain JSON data") from None
    if "\\u0000" in encoded or not values.is_encodable(encoded):
        raise ValidationError(field, "must not contain NUL or invalid characters")
    return json.loads(encoded)


def _check_service_needs(
    field: str,
    service: ActionService,
    row: Mapping[str, Any],
    action: Mapping[str, Any],
) -> None:
    """Slack needs its integration; a Sentry app its id (and install)."""
    if service == ActionService.SLACK and row["integration_id"] is None:
        raise ValidationError(f"{field}.integration_id", "Slack actions need one")
    if service != ActionService.SENTRY_APP:
        return

    if row["sentry_app_id"] is None:
        raise ValidationError(f"{field}.sentry_app_id", "Sentry app actions need one")
    if row["sentry_app_config"] is not None:
        installation = action.get("sentry_app_installation_uuid")
        values.text(f"{field}.sentry_app_installation_uuid", installation, min_length=1)


def _check_recipient(
    session: Session,
    trigger: AlertRuleTrigger,
    field: str,
    target_type: ActionTarget,
    identifier: str,
) -> str | None:
    """Email goes to a member or a team of the rule's organization."""
    if target_type not in (ActionTarget.USER, ActionTarget.TEAM):
        return None

    organization_id = trigger.alert_rule.organization_id
    target_id = _numeric_id(f"{field}.target_identifier", identifier)
    if target_type == ActionTarget.TEAM:
        team = session.get(Team, target_id)
        if team is None or team.organization_id != organization_id:
            raise ValidationError(
                f"{field}.target_identifier", "is not a team of the organization"
            )
        return team.slug

    member = session.scalars(
        select(User)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(User.id == target_id)
        .where(OrganizationMember.organization_id == organization_id)
    ).first()
    if member is None:
        raise ValidationError(
            f"{field}.target_identifier", "is not a member of the organization"
        )
    return member.email


def _numeric_id(field: str, identifier: str) -> int:
    """User and team targets are named by their numeric id."""
    if not identifier.isascii() or not identifier.isdigit() or len(identifier) > 10:
        raise ValidationError(field, "must be the numeric id of a user or team")
    return values.row_id(field, int(identifier))
