# Meta and Params are factory_boy's option holders, not API to document.
"""Factory for the rows the feedback pipeline records."""

from __future__ import annotations

from typing import Any

from factory.declarations import LazyAttribute, LazyFunction, SubFactory, Trait

from pytest_mockseed.factories.base import (
    FAKER,
    MockseedFactory,
    ago,
    random_hex,
    slugify,
)
from pytest_mockseed.factories.organizations import ProjectFactory
from pytest_mockseed.models import (
    Feedback,
    FeedbackCreationSource,
    FeedbackStatus,
)


def _email_of(feedback: Any) -> str:
    """The contact address is the sender's name at a free mail provider."""
    local_part = slugify(feedback.name, 60).replace("-", ".")
    return f"{local_part}@{FAKER.free_email_domain()}"


class FeedbackFactory(MockseedFactory[Feedback]):
    """Accepted feedback from a new-style envelope, delivered to the broker.

    The ``filtered`` trait gives a row the pipeline dropped for an empty
    message: no occurrence, nothing delivered, and the reason recorded.
    """

    class Meta:
        model = Feedback

    class Params:
        filtered = Trait(
            message="   ",
            status=FeedbackStatus.FILTERED,
            reason="empty",
            is_spam=None,
            occurrence_id=None,
            delivered=False,
        )

    project = SubFactory(ProjectFactory)
    event_id = LazyFunction(random_hex)
    message = LazyFunction(lambda: FAKER.sentence(nb_words=10))
    name = LazyFunction(lambda: f"{FAKER.first_name()} {FAKER.last_name()}")
    contact_email = LazyAttribute(_email_of)
    source = FeedbackCreationSource.NEW_FEEDBACK_ENVELOPE
    status = FeedbackStatus.ACCEPTED
    reason = None
    is_spam = False
    occurrence_id = LazyFunction(random_hex)
    delivered = True
    has_attachment = False
    date_added = ago(14)
