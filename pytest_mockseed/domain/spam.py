"""Spam checking for feedback: a pluggable classifier, off by default.

The reference asks a language model whether a feedback message is spam,
and only when the organization and project enable it (rule 33). A seeded
test world cannot call a model, so the check takes any callable; the small
deterministic :func:`default_spam_classifier` is there for tests that want
one, and keeps seeded runs identical.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Decides whether a feedback message is spam.
SpamClassifier = Callable[[str], bool]


def is_spam(message: str, classifier: SpamClassifier | None) -> bool:
    """Ask the classifier, if any; a failing classifier never blocks feedback.

    The reference logs classifier failures and treats the message as not
    spam (rule 33), so a broken classifier cannot lose user feedback.
    """
    if classifier is None:
        return False
    try:
        return bool(classifier(message))
    except Exception:
        logger.exception("feedback: spam classifier failed; treating as not spam")
        return False


_SPAM_PHRASES = re.compile(
    r"\b(buy now|free money|casino|crypto ?currency|viagra|click here|"
    r"limited offer|make money fast|work from home)\b",
    re.IGNORECASE,
)
_LINK = re.compile(r"https?://", re.IGNORECASE)


def default_spam_classifier(message: str) -> bool:
    """A small deterministic classifier: advertising phrases or many links.

    Enough to exercise the spam path of the pipeline, not a real filter.
    """
    return bool(_SPAM_PHRASES.search(message)) or len(_LINK.findall(message)) >= 3
