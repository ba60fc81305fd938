"""Error events and transactions, in one table told apart by ``type``.

Events are the bulk of the data, so the table is written with COPY on the
fast path: it has no relationship collections pointing at it, and its
columns are plain values a COPY row can carry. ``tags`` is a JSON object
(``{"level": "error", ...}``) so tests can query ``tags->>'level'``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pytest_mockseed.models.base import Base, StrEnumType, Timestamp
from pytest_mockseed.models.enums import EventType
from pytest_mockseed.models.organizations import Project


class Event(Base):
    """An error event or a transaction of a project."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("project_id", "event_id"),
        CheckConstraint("event_id ~ '^[0-9a-f]{32}$'", name="event_id_hex"),
        CheckConstraint("type IN ('error', 'transaction')", name="type"),
        Index(None, "project_id", "timestamp"),
        Index(None, "type"),
        Index(None, "trace_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    type: Mapped[EventType] = mapped_column(StrEnumType(EventType, length=16))
    platform: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(64))
    release: Mapped[str | None] = mapped_column(String(250))
    timestamp: Mapped[datetime] = mapped_column(Timestamp)
    tags: Mapped[dict[str, str]] = mapped_column(JSONB)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    trace_id: Mapped[str | None] = mapped_column(String(32))
    span_id: Mapped[str | None] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    transaction: Mapped[str | None] = mapped_column(String(200))

    project: Mapped[Project] = relationship()
