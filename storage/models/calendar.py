"""The State Council's holiday notices as an operator loaded them: one version per load.

Loads are appended, never rewritten: the latest version of a year is the one in force, the earlier
ones say what the hub counted with before, and each row names who loaded it and when.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class NoticeDayKind(StrEnum):
    HOLIDAY = "holiday"  # a day off (放假)
    MAKEUP_WORKING_DAY = "makeup_working_day"  # a weekend day worked (调休上班)


class CalendarNotice(Base):
    __tablename__ = "calendar_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    # The notice's reference, e.g. 国办发明电〔2026〕7号.
    reference: Mapped[str] = mapped_column(String(200))
    source_name: Mapped[str] = mapped_column(String(300))
    # SHA-256 of the days as loaded: what a process's cached calendar is keyed on.
    digest: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Two concurrent loads of one year cannot take the same version.
    __table_args__ = (UniqueConstraint("year", "version"),)


class CalendarNoticeDay(Base):
    __tablename__ = "calendar_notice_days"

    notice_id: Mapped[int] = mapped_column(ForeignKey("calendar_notices.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    # The holiday a day belongs to (春节) or is worked for.
    name: Mapped[str] = mapped_column(String(100))
