"""One measured figure, its baseline from the same run, and the table of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A measured value beside its baseline and the target it must meet.

    ``passed`` is ``None`` when the figure could not be measured at all
    (e.g. a feature that does not exist yet); that counts as a miss.
    """

    name: str
    value: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None
    note: str = ""

    @property
    def verdict(self) -> str:
        """PASS, FAIL, or MISSING for a figure that could not be measured."""
        if self.passed is None:
            return "MISSING"
        return "PASS" if self.passed else "FAIL"


def seconds(value: float) -> str:
    """Format a duration for the table: ms below a second, else s."""
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"


def render(figures: Sequence[Figure]) -> str:
    """A Markdown table of ``figures``, then their notes."""
    header = ("figure", "value", "baseline", "ratio", "target", "result")
    rows = [header, tuple("---" for _ in header)]
    rows += [
        (f.name, f.value, f.baseline, f.ratio, f.target, f.verdict) for f in figures
    ]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    notes = [f"- {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def all_passed(figures: Sequence[Figure]) -> bool:
    """True when every figure met its target."""
    return all(f.passed is True for f in figures)
