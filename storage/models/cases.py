"""Cases (办件): one application at one window, its materials, the departments' reviews and results.

A case is opened for one applicant and one or more service items of the current catalogue version.
Its materials point at exact material versions (pinned), so an opinion always refers to the bytes
reviewed. Rows about what happened are appended, never rewritten: a re-attached material supersedes
the previous attachment, a changed opinion is a new revision.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class CaseStatus(StrEnum):
    OPEN = "open"  # received at the window; materials being gathered
    ACCEPTED = "accepted"  # 受理: review tasks distributed to every department at once
    COMPLETED = "completed"  # 办结: results issued (统一出件)
    WITHDRAWN = "withdrawn"  # 撤回: the applicant withdrew it at the window, with a reason
    ABANDONED = "abandoned"  # closed by the hub: never accepted in time, or its results never collected

    @property
    def closed(self) -> bool:
        """Nothing more happens to the case: no material, opinion or result is added."""
        return self in (CaseStatus.COMPLETED, CaseStatus.WITHDRAWN, CaseStatus.ABANDONED)


class CaseOutcome(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


class AttachmentOrigin(StrEnum):
    REUSED = "reused"  # a version already on file, referenced
    UPLOADED = "uploaded"  # new bytes handed in for this case
    PROMISED = "promised"  # 容缺: not yet handed in, promised by a date


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_CORRECTION = "needs_correction"


class ReceiptCounter(Base):
    """The last receipt sequence number given out on one (China) date, shared by all hub processes."""

    __tablename__ = "case_receipt_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Readable and unique: the China date of receipt and that day's sequence, e.g. 20250926-00042.
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"))
    # The other party (a seller transferring to the applicant), whose certificates a result may cancel.
    counterparty_applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicants.id"), nullable=True)
    catalog_version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id"))
    # The window (e.g. "综合窗口 3") and who received the case there.
    window: Mapped[str] = mapped_column(String(64))
    received_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    window_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # The service centre whose window received the case (None: received outside any centre), and the
    # centre where the applicant chose to collect the results (就近办; None: the receiving window).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)
    collect_centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN.value)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    # When the applicant collected the results (统一出件 at the window); None while uncollected.
    results_collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The centre whose window handed them over.
    results_collected_centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)
    # Withdrawn or abandoned: when, by whom (None: the hub's own scheduled job) and why.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_cases_applicant_opened", "applicant_id", "opened_at", "id"),
        # The abandonment job's scan: open cases by age, completed ones by completion.
        Index("ix_cases_status_opened", "status", "opened_at"),
        Index("ix_cases_centre", "centre_id"),
    )


class CaseItem(Base):
    """One item of a case. Items of a bundle (一件事一次办) may be accepted at different times: those
    complete at once, the rest later in the same case when their materials are in."""

    __tablename__ = "case_items"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), primary_key=True)
    # 受理 of this item: its deadlines count from here. None while pending.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseMaterial(Base):
    """One attachment of a required material type to a case; at most one current per type."""

    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    material_type_id: Mapped[int] = mapped_column(ForeignKey("material_types.id"))
    origin: Mapped[str] = mapped_column(String(16))
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"), nullable=True)
    # The exact version reviewed; None only while promised (容缺).
    material_version_id: Mapped[int | None] = mapped_column(ForeignKey("material_versions.id"), nullable=True)
    # 容缺: the date the applicant promised to hand it in; kept on the row that fulfils the promise.
    promised_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attached_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index(
            "ix_case_materials_current",
            "case_id",
            "material_type_id",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
        Index("ix_case_materials_material", "material_id"),
    )


class ReviewTask(Base):
    """One department's review of one case, created for every department at acceptance."""

    __tablename__ = "review_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Three-level halls: the centre whose department decides (a township's case at its county), and
    # the catalogue department this task was routed from; None when the catalogue's own department reviews.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)
    routed_from_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)

    __table_args__ = (
        UniqueConstraint("case_id", "department_id"),
        Index("ix_review_tasks_department", "department_id", "case_id"),
    )


class JointReviewMinutes(Base):
    """联合审查纪要: the record of a joint review meeting of the case's departments."""

    __tablename__ = "joint_review_minutes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    held_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    recorded_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Opinion(Base):
    """A department's opinion on a case. A changed mind is a new revision, never an overwrite."""

    __tablename__ = "review_opinions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    review_task_id: Mapped[int] = mapped_column(ForeignKey("review_tasks.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    revision: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(24))
    comments: Mapped[str] = mapped_column(Text, default="")
    # Fixes asked for in a joint review, and the date they are due.
    fix_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # A correction request's material types (codes, comma-separated): a new one handed in for the
    # case supersedes the deficient material in the store.
    correction_material_types: Mapped[str] = mapped_column(String(500), default="")
    minutes_id: Mapped[int | None] = mapped_column(ForeignKey("joint_review_minutes.id"), nullable=True)
    recorded_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Two concurrent first opinions of one department cannot both land.
        UniqueConstraint("review_task_id", "revision"),
        Index("ix_review_opinions_case", "case_id", "department_id", "revision"),
    )


class CaseResult(Base):
    """A result issued at completion (统一出件): a new material of the applicant."""

    __tablename__ = "case_results"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), primary_key=True)
    material_version_id: Mapped[int] = mapped_column(ForeignKey("material_versions.id"))


class PauseReason(StrEnum):
    """Why a department's clock stands still (行政许可法 art. 32 and 45)."""

    CORRECTION = "correction"  # 补正: waiting for the applicant; read from opinions, never stored
    HEARING = "hearing"  # 听证
    TENDER_OR_AUCTION = "tender_or_auction"  # 招标、拍卖
    INSPECTION = "inspection"  # 检验、现场核查
    TESTING = "testing"  # 检测
    QUARANTINE = "quarantine"  # 检疫
    APPRAISAL = "appraisal"  # 鉴定
    EXPERT_REVIEW = "expert_review"  # 专家评审


class ReviewPause(Base):
    """A period a department excludes from its time limit (art. 45), from start to end."""

    __tablename__ = "review_pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    review_task_id: Mapped[int] = mapped_column(ForeignKey("review_tasks.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    reason: Mapped[str] = mapped_column(String(24))
    # What the department told the applicant (art. 45: 应当将所需时间书面告知申请人).
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)

    __table_args__ = (
        # One open pause per department's review: two concurrent starts cannot both land.
        Index(
            "ix_review_pauses_open",
            "review_task_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        Index("ix_review_pauses_case", "case_id", "department_id"),
    )
