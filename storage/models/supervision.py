"""Electronic supervision (电子监察): rules as data, timing states and warnings, log anomaly alerts.

Timing states are stored only so that a warning is raised once per change of state; everything
else about time is still computed from dates on read. Alerts name the sequence numbers of the
signed log entries that raised them, so their evidence can be proven against a checkpoint.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime

# A timing state or warning about the case as a whole rather than one department's review.
WHOLE_CASE = 0


class SupervisionRule(Base):
    """One rule of the supervision office: on or off, and its parameters (a JSON object)."""

    __tablename__ = "supervision_rules"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    params: Mapped[str] = mapped_column(Text, default="{}")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TimingState(Base):
    """The last timing state seen of a case (department_id WHOLE_CASE) or of one department's review."""

    __tablename__ = "supervision_timing_states"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The case's id without a foreign key: written only by the evaluation, from the cases it has just
    # read (cases are never deleted), and a first evaluation writes 300,000 rows that PostgreSQL would
    # check one by one with a lock on each case (migration 0012).
    case_id: Mapped[int] = mapped_column(BigId)
    # No foreign key: WHOLE_CASE (0) stands for the case itself.
    department_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8))
    since: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("case_id", "department_id"),)


class TimingWarning(Base):
    """预警提示: a case or a review turned YELLOW or RED; addressed to the department and the office."""

    __tablename__ = "supervision_warnings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign key, as for TimingState.case_id.
    case_id: Mapped[int] = mapped_column(BigId)
    department_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8))
    previous_state: Mapped[str] = mapped_column(String(8))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The China date it was raised on: monthly cards and rankings count by it.
    raised_on: Mapped[date] = mapped_column(Date)
    # Department codes the warning is addressed to (comma-separated): the department, the office.
    addressed_to: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_supervision_warnings_department_day", "department_id", "raised_on"),)


class Watermark(Base):
    """How far an incremental evaluation has read (the access log's last evaluated seq)."""

    __tablename__ = "supervision_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Alert(Base):
    """An access anomaly found in the signed log, with the entries that raised it."""

    __tablename__ = "supervision_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    # One alert per rule and subject (a principal and an hour, say), however often it is re-seen.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    principal_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    department_code: Mapped[str] = mapped_column(String(32), default="")
    summary: Mapped[str] = mapped_column(Text)
    # Sequence numbers of the evidence entries (comma-separated), provable against a checkpoint.
    seqs: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(24))
    # When the department must answer (an explanation requested), in working days from the request.
    respond_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_supervision_alerts_status", "status", "id"),)


class AlertEvent(Base):
    """One step of an alert's life, by a named principal, with a note."""

    __tablename__ = "supervision_alert_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("supervision_alerts.id"))
    status: Mapped[str] = mapped_column(String(24))
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class HourlyReads(Base):
    """Distinct applicants one principal read in one hour: the history the volume rule's baseline
    (median + k * MAD of a principal's busy hours) is drawn from, kept so the log is never rescanned."""

    __tablename__ = "supervision_hourly_reads"

    principal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    applicants: Mapped[int] = mapped_column(BigInteger)


class HourApplicant(Base):
    """One applicant one principal read in one hour (hours since the epoch, UTC): the volume rule's
    distinct applicants kept as a set, so each evaluation adds its batch's reads instead of reading
    the principal's whole hour from the log again. Kept for the last few hours only (the rule's
    late entries read the log, as before)."""

    __tablename__ = "supervision_hour_applicants"

    principal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    applicant_ref: Mapped[str] = mapped_column(String(18), primary_key=True)


class Complaint(Base):
    """办不成事: something an applicant could not get done, filed by them or by a window for them."""

    __tablename__ = "supervision_complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # What the applicant is given to follow it: BCS-<China date>-<id>.
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    applicant_ref: Mapped[str] = mapped_column(String(18))
    filed_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    item_code: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    centre_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    what_happened: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(String(32))
    complexity: Mapped[str] = mapped_column(String(16))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    respond_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)

    __table_args__ = (Index("ix_supervision_complaints_department", "department_id", "filed_at"),)


class Sample(Base):
    """抽查: completed cases drawn for inspection, per department and month, with the seed that drew
    them, so anyone can draw them again from the same list and get the same cases."""

    __tablename__ = "supervision_samples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    seed: Mapped[int] = mapped_column(BigInteger)
    # Receipt numbers of the department's completed cases of the month, in order: the population.
    population: Mapped[int] = mapped_column(BigInteger)
    receipt_numbers: Mapped[str] = mapped_column(Text)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))

    __table_args__ = (UniqueConstraint("month", "department_id"),)
