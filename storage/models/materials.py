"""Materials (材料) of applicants, their versions, and the encrypted blobs holding their bytes.

A blob is stored once per distinct content: its `name` is a keyed hash (HMAC-SHA256) of the
plaintext, so equal bytes from any applicant, material or case share one blob. The blob's data key
is kept here wrapped by a master key (`key_id`), so rotating the master key re-wraps rows and never
rewrites objects. A material is what a department recognises ("营业执照 of enterprise X"); each new
upload of it is a version, and old versions stay readable because a decision may rest on them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime, utcnow


class BlobState(StrEnum):
    # The row exists before the object is written, so gc knows a write may be in flight.
    PENDING = "pending"
    STORED = "stored"
    # gc claimed it: the object is being deleted, then the row. Writers wait for the row to go.
    DELETING = "deleting"


class MaterialStatus(StrEnum):
    """Stored status. "expired" is never stored: it is read from valid_until and today's date."""

    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"  # 注销: the right it proves passed to someone else (行政许可法 art. 70)


class Blob(Base):
    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # HMAC-SHA256 (hex) of the plaintext under the keyring's naming key; also the object's key.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    chunk_size: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    state: Mapped[str] = mapped_column(String(16), default=BlobState.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last time a writer chose this blob (new or deduplicated); gc spares recently claimed blobs.
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_blobs_state_claimed", "state", "claimed_at"),)


class Material(Base):
    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"))
    material_type_id: Mapped[int] = mapped_column(ForeignKey("material_types.id"))
    title: Mapped[str] = mapped_column(String(200))
    issuing_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Inclusive; None means the material does not expire. Defaults from MaterialType.valid_days.
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=MaterialStatus.VALID.value)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    uploaded_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    uploaded_by_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_materials_applicant_type", "applicant_id", "material_type_id", "id"),)


class MaterialVersion(Base):
    __tablename__ = "material_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))
    # The name the uploader gave (often Chinese), shown again in Content-Disposition.
    file_name: Mapped[str] = mapped_column(String(255))
    declared_content_type: Mapped[str] = mapped_column(String(100))
    detected_content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("material_id", "version_no"),
        Index("ix_material_versions_blob", "blob_id"),
    )
