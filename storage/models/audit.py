"""The access log's entries. Appended, never updated (sequencing and signing: hub/audit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class AccessEntry(Base):
    __tablename__ = "access_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64), default="")
    principal_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    department_code: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(32), default="")
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    applicant_ref: Mapped[str] = mapped_column(String(18), default="")
    object_ref: Mapped[str] = mapped_column(String(200), default="")
    fields: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_access_entries_applicant", "applicant_ref", "id"),)
