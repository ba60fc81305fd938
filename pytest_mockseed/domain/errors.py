"""The one error the domain rules raise for input they refuse."""

from __future__ import annotations


class ValidationError(ValueError):
    """Input broke a business rule; ``field`` names the value at fault.

    One type for every refusal lets callers (tests, the scenario, the
    command-line tool) tell bad input apart from a broken database or broker
    with a single ``except``, and still see which value to fix.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(field, message)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
