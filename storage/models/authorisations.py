"""首席代表, 授权到位: a department's authorisation of a named clerk to decide listed items on the spot."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class Authorisation(Base):
    """One authorisation document: who, for which items, from when until when; withdrawn, never deleted."""

    __tablename__ = "authorisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # The chief representative: a clerk principal of the department.
    clerk_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    # Service item codes (comma-separated, sorted): an item keeps its code across catalogue versions.
    item_codes: Mapped[str] = mapped_column(String(2000))
    # China dates, both included.
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    granted_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    withdraw_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_authorisations_clerk", "clerk_principal_id", "department_id"),
        Index("ix_authorisations_department", "department_id", "granted_at"),
    )
