"""Visits: an applicant presenting their ID at a window, which opens their data to that clerk for a while."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class Visit(Base):
    """One applicant at one clerk's window, from `opened_at` until `expires_at` (the purpose `visit:<id>`)."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    # The resident ID or credit code presented, canonical (hub/identifiers.py).
    id_number: Mapped[str] = mapped_column(String(18))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_visits_principal_id", "principal_id"),)
