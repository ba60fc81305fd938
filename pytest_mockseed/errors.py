"""Errors that reach the user, each built to say what to do next.

Every message follows one order: what is missing, why it matters, what was
checked, and the remedies (the exact option, ini key and environment
variable). Passwords never appear: callers pass URLs through
:func:`mask_url` before they put them in a message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PASSWORD_IN_URL = re.compile(
    r"(?P<head>://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<tail>@)"
)


class MockseedError(Exception):
    """Base class of the errors pytest-mockseed raises on purpose."""


class ConfigError(MockseedError):
    """A setting has a value the plugin cannot use."""


class ServiceUnavailable(MockseedError):
    """No rung of the ladder could provide a service."""

    def __init__(
        self,
        what: str,
        why: str,
        checked: Sequence[str] = (),
        remedies: Sequence[str] = (),
    ) -> None:
        self.what = what
        self.why = why
        self.checked = tuple(checked)
        self.remedies = tuple(remedies)
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"{self.what}: {self.why}"]
        if self.checked:
            lines.append("checked:")
            lines.extend(f"  - {item}" for item in self.checked)
        if self.remedies:
            lines.append("to fix it:")
            lines.extend(f"  - {item}" for item in self.remedies)
        return "\n".join(lines)


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***\g<tail>", url)
