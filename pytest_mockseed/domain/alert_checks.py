"""Pure checks behind metric alert rules: windows, queries, aggregates.

These are the reference's API-level rules (DOMAIN.md rule 15) and the
detection rules 8-11, written as small functions of plain values so they
can be tested, and fuzzed, without a database.
"""

from __future__ import annotations

import re

from pytest_mockseed.domain.errors import ValidationError
from pytest_mockseed.models import (
    AlertRuleDetectionType,
    AlertRuleThresholdType,
    Dataset,
    SnubaQueryType,
)

#: Static rules: resolution (minutes) by the largest window key not above
#: the time window (rule 8); windows below the first key resolve every minute.
_RESOLUTIONS = ((1440, 15), (720, 5), (240, 5), (120, 3), (90, 3), (60, 3), (30, 2))

DATASETS_BY_QUERY_TYPE = {
    SnubaQueryType.ERROR: frozenset({Dataset.EVENTS}),
    SnubaQueryType.PERFORMANCE: frozenset(
        {
            Dataset.TRANSACTIONS,
            Dataset.GENERIC_METRICS,
            Dataset.EVENTS_ANALYTICS_PLATFORM,
        }
    ),
    SnubaQueryType.CRASH_RATE: frozenset({Dataset.METRICS}),
}

EVENT_TYPES_BY_QUERY_TYPE = {
    SnubaQueryType.ERROR: frozenset({"error", "default"}),
    SnubaQueryType.PERFORMANCE: frozenset({"transaction"}),
    SnubaQueryType.CRASH_RATE: frozenset(),
}

CRASH_RATE_WINDOWS = frozenset({30, 60, 120, 240, 720, 1440})
DYNAMIC_WINDOWS = frozenset({5, 15, 30, 60})

#: Longest comparison a percent rule may make: 89 days, in minutes.
MAX_COMPARISON_DELTA = 128160

_TAG_COLUMNS = {
    "user": "tags[sentry:user]",
    "dist": "tags[sentry:dist]",
    "release": "tags[sentry:release]",
}
_PLAIN_COLUMNS = frozenset({*_TAG_COLUMNS.values(), "transaction.duration"})
_MEASUREMENT = re.compile(r"measurements\.[a-z][a-z0-9_.]*")
_NUMBER = re.compile(r"\d+(\.\d+)?")

_COLUMN_FUNCTIONS = (
    *("count", "count_unique", "avg", "sum", "min", "max"),
    *("p50", "p75", "p90", "p95", "p99", "p100"),
)

#: What each function takes: a column (maybe empty), a column and a
#: number, nothing, or at most a number.
_FUNCTIONS_BY_QUERY_TYPE = {
    SnubaQueryType.ERROR: {"count": "column", "count_unique": "column"},
    SnubaQueryType.PERFORMANCE: {
        **dict.fromkeys(_COLUMN_FUNCTIONS, "column"),
        "percentile": "column,number",
        "count_miserable": "column,number",
        "failure_rate": "",
        "apdex": "number?",
        "user_misery": "number?",
    },
}
_CRASH_RATE_AGGREGATES = frozenset(
    f"percentage({crashed}, {total}) AS _crash_rate_alert_aggregate"
    for crashed, total in (("sessions_crashed", "sessions"), ("users_crashed", "users"))
)
_CALL = re.compile(r"(?P<function>[a-z_][a-z0-9_]*)\((?P<arguments>[^()]*)\)")
_TERM = re.compile(r'(?:^|\s)!?(?P<key>[A-Za-z_][\w.\-\[\]]*):(?P<value>"[^"]*"|\S*)')


def resolution_minutes(time_window: int, detection_type: AlertRuleDetectionType) -> int:
    """Return how often the rule's query runs, in minutes (rule 8)."""
    if detection_type == AlertRuleDetectionType.DYNAMIC:
        return time_window

    resolution = next((r for key, r in _RESOLUTIONS if time_window >= key), 1)
    if detection_type == AlertRuleDetectionType.PERCENT:
        return resolution * 2
    return resolution


def check_dataset(query_type: SnubaQueryType, dataset: Dataset) -> None:
    """Each query type reads only some datasets (rule 15)."""
    allowed = DATASETS_BY_QUERY_TYPE[query_type]
    if dataset not in allowed:
        names = ", ".join(sorted(allowed))
        raise ValidationError(
            "dataset", f"{query_type.name} rules query one of: {names}"
        )


def check_event_types(query_type: SnubaQueryType, event_types: object) -> None:
    """Event types, when given, must suit the query type (rule 15)."""
    if event_types is None:
        return

    allowed = EVENT_TYPES_BY_QUERY_TYPE[query_type]
    if isinstance(event_types, str) or not isinstance(event_types, list | tuple | set):
        raise ValidationError("event_types", "must be a list of event type names")
    wrong = [
        item for item in event_types if not isinstance(item, str) or item not in allowed
    ]
    if wrong:
        names = ", ".join(sorted(allowed)) or "none"
        raise ValidationError("event_types", f"{query_type.name} rules allow: {names}")


def check_query(query: str, detection_type: AlertRuleDetectionType) -> None:
    """Refuse query terms the reference refuses (rules 9 and 15)."""
    for term in _TERM.finditer(query):
        key = term["key"].lower()
        value = term["value"].strip('"').lower()
        if key == "project":
            raise ValidationError("query", "project is not a valid query term")
        if key == "release" and value == "latest":
            raise ValidationError(
                "query", "release:latest is not allowed in alert rules"
            )
        if key == "is" and value == "unresolved" and _is_dynamic(detection_type):
            raise ValidationError(
                "query", "dynamic alert rules cannot filter on is:unresolved"
            )


def normalize_aggregate(query_type: SnubaQueryType, aggregate: str) -> str:
    """Check the aggregate function and return it in its stored form.

    ``user``, ``dist`` and ``release`` columns are written in their tag
    form, as the reference stores them.
    """
    stripped = aggregate.strip()
    if query_type == SnubaQueryType.CRASH_RATE:
        if stripped not in _CRASH_RATE_AGGREGATES:
            raise ValidationError("aggregate", "is not a crash-rate aggregate")
        return stripped

    call = _CALL.fullmatch(stripped)
    functions = _FUNCTIONS_BY_QUERY_TYPE[query_type]
    if call is None or call["function"] not in functions:
        names = ", ".join(sorted(functions))
        raise ValidationError("aggregate", f"must call one of: {names}")

    arguments = [part.strip() for part in call["arguments"].split(",")]
    shape = functions[call["function"]]
    checked = _check_arguments(shape, arguments)
    return f"{call['function']}({', '.join(checked)})"


def _check_arguments(shape: str, arguments: list[str]) -> list[str]:
    """Check a function's arguments against its shape; translate columns."""
    if arguments == [""]:
        arguments = []
    if shape == "":
        if arguments:
            raise ValidationError("aggregate", "this function takes no arguments")
        return []
    if shape == "number?":
        if len(arguments) > 1 or not all(_NUMBER.fullmatch(a) for a in arguments):
            raise ValidationError("aggregate", "this function takes at most a number")
        return arguments

    wants_number = shape == "column,number"
    if len(arguments) != (2 if wants_number else min(len(arguments), 1)):
        raise ValidationError("aggregate", "wrong number of arguments")
    if wants_number and not _NUMBER.fullmatch(arguments[1]):
        raise ValidationError("aggregate", "the second argument must be a number")
    return [_column(arguments[0]), *arguments[1:]] if arguments else []


def _column(column: str) -> str:
    """Return the stored form of an aggregate's column, or refuse it."""
    if column in _TAG_COLUMNS:
        return _TAG_COLUMNS[column]
    if column in _PLAIN_COLUMNS or _MEASUREMENT.fullmatch(column):
        return column
    raise ValidationError(
        "aggregate",
        "the column must be empty, a measurement, transaction.duration, "
        "user, dist, release or their tags[sentry:...] form",
    )


def check_detection(
    detection_type: AlertRuleDetectionType,
    threshold_type: AlertRuleThresholdType,
    time_window: int,
    sensitivity: object,
    seasonality: object,
) -> None:
    """Dynamic rules need a sensitivity and a short window (rules 9, 10)."""
    if _is_dynamic(detection_type):
        if sensitivity is None:
            raise ValidationError("sensitivity", "dynamic alert rules need one")
        if time_window not in DYNAMIC_WINDOWS:
            windows = ", ".join(str(w) for w in sorted(DYNAMIC_WINDOWS))
            raise ValidationError("time_window", f"dynamic rules use one of {windows}")
        return

    if sensitivity is not None:
        raise ValidationError("sensitivity", "only dynamic alert rules have one")
    if seasonality is not None:
        raise ValidationError("seasonality", "only dynamic alert rules have one")
    if threshold_type == AlertRuleThresholdType.ABOVE_AND_BELOW:
        raise ValidationError(
            "threshold_type", "ABOVE_AND_BELOW is only for dynamic alert rules"
        )


def check_crash_rate_window(query_type: SnubaQueryType, time_window: int) -> None:
    """Crash-rate rules only support a few windows (rule 15)."""
    if (
        query_type == SnubaQueryType.CRASH_RATE
        and time_window not in CRASH_RATE_WINDOWS
    ):
        windows = ", ".join(str(w) for w in sorted(CRASH_RATE_WINDOWS))
        raise ValidationError("time_window", f"crash-rate rules use one of {windows}")


def check_resolve_threshold(
    threshold_type: AlertRuleThresholdType | None,
    alert_threshold: float,
    resolve_threshold: float | None,
) -> None:
    """A trigger must fire beyond the rule's resolve threshold (rule 17).

    Metric values are counted in whole numbers, so for whole thresholds the
    boundary moves by one: "alert above 0, resolve below 1" never overlaps
    and is valid, "alert above 0, resolve below 2" overlaps at 1.
    """
    if resolve_threshold is None or threshold_type not in _DIRECTIONS:
        return

    above = threshold_type == AlertRuleThresholdType.ABOVE
    if alert_threshold.is_integer() and resolve_threshold.is_integer():
        step = 1 if above else -1
        valid = (alert_threshold + step - resolve_threshold) * step >= 0
    elif above:
        valid = alert_threshold > resolve_threshold
    else:
        valid = alert_threshold < resolve_threshold
    if not valid:
        side = _DIRECTIONS[threshold_type]
        raise ValidationError(
            "alert_threshold",
            f"must be {side} the resolve threshold ({resolve_threshold:g})",
        )


def check_trigger_order(
    threshold_type: AlertRuleThresholdType | None, critical: float, warning: float
) -> None:
    """Critical fires no earlier than warning in the rule's direction (rule 17)."""
    if threshold_type == AlertRuleThresholdType.ABOVE and critical < warning:
        raise ValidationError("alert_threshold", "critical must be at least warning")
    if threshold_type == AlertRuleThresholdType.BELOW and critical > warning:
        raise ValidationError("alert_threshold", "critical must be at most warning")


_DIRECTIONS = {
    AlertRuleThresholdType.ABOVE: "above",
    AlertRuleThresholdType.BELOW: "below",
}


def _is_dynamic(detection_type: AlertRuleDetectionType) -> bool:
    return detection_type == AlertRuleDetectionType.DYNAMIC
