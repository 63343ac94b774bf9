"""The halls: the service centres' tree (city, county, township, village) and visits, an applicant presenting
their ID at a window, which opens their data to that clerk for a while."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime, utcnow


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


class CentreLevel(StrEnum):
    """The levels of the service centres (Jingmen 三级平台, down to village stations: 四进), top first."""

    CITY = "city"  # 市政务服务中心
    COUNTY = "county"  # 县(市、区)政务服务中心
    TOWNSHIP = "township"  # 乡镇(街道)便民服务中心
    VILLAGE = "village"  # 村(社区)便民服务站

    @property
    def rank(self) -> int:
        """0 for the city, 3 for a village station: a parent's rank is below its children's."""
        return list(CentreLevel).index(self)


class Centre(Base):
    """A service centre (政务服务中心) in the tree: city, county/district, township/street, village station."""

    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    # None for the root (the city centre); a centre's parent is of a higher level.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
