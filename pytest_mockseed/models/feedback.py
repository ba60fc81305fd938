"""One row per run of the feedback pipeline, with its outcome.

The reference writes no row here (it only produces to Kafka); the plugin
records each call so tests can see what was accepted, what was filtered and
why, and whether the broker confirmed the occurrence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pytest_mockseed.models.base import Base, StrEnumType, Timestamp
from pytest_mockseed.models.enums import FeedbackCreationSource, FeedbackStatus
from pytest_mockseed.models.organizations import Project


class Feedback(Base):
    """A piece of user feedback and what the pipeline did with it.

    A filtered row always carries its ``reason`` and an accepted one never
    does; the database enforces that pairing.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(
            "(status = 'accepted' AND reason IS NULL)"
            " OR (status = 'filtered' AND reason IS NOT NULL)",
            name="reason_iff_filtered",
        ),
        Index(None, "project_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    event_id: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[FeedbackCreationSource] = mapped_column(
        StrEnumType(FeedbackCreationSource, length=64)
    )
    status: Mapped[FeedbackStatus] = mapped_column(
        StrEnumType(FeedbackStatus, length=16)
    )
    reason: Mapped[str | None] = mapped_column(String(64))
    is_spam: Mapped[bool | None]
    occurrence_id: Mapped[str | None] = mapped_column(String(32))
    delivered: Mapped[bool] = mapped_column(default=False)
    has_attachment: Mapped[bool] = mapped_column(default=False)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    project: Mapped[Project] = relationship()
