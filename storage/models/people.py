"""Departments, the principals who act for them, and the shared applicant profiles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime, utcnow


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The supervision office (电子监察) is the department auditors belong to.
    is_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    # Three-level halls: the centre the department sits at (a county's 自然资源局 at the county centre)
    # and the catalogue department it is the local office of; None for a hub of one hall.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)
    branch_of_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Principal(Base):
    """Someone or something that calls the hub: a department system, clerk, auditor or admin."""

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # SHA-256 of the bearer token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # For the applicant role only: the resident ID or credit code this principal speaks for.
    applicant_ref: Mapped[str | None] = mapped_column(String(18), nullable=True)
    # A clerk's service centre (its window is there); None for other roles, and for a clerk of a hub
    # with no centres loaded, whose cases carry no centre (docs/cases.md, "Three-level halls").
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), nullable=True)


class RetiredToken(Base):
    """A token hash that a rotation replaced: kept so that a rotated-out token presented again is
    refused and logged against the principal that held it, as a revoked one is."""

    __tablename__ = "retired_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Applicant(Base):
    """One profile per applicant, shared by every department."""

    __tablename__ = "applicants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Resident ID for a person, unified social credit code for an enterprise; both 18 characters.
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    # The current name, kept here too so name search is one indexed lookup.
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))

    __table_args__ = (
        Index("ix_applicants_name_id", "name", "id"),
        Index(
            "ix_applicants_name_pattern",
            "name",
            postgresql_ops={"name": "varchar_pattern_ops"},
        ),
    )


class ProfileFieldValue(Base):
    """One value of one profile field, with its provenance. History is never overwritten.

    `is_current` marks the value shown: the latest verified one, or the latest if none is verified.
    """

    __tablename__ = "profile_field_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"))
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    source_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    recorded_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_profile_field_values_applicant_field", "applicant_id", "field", "recorded_at"),
        Index(
            "ix_profile_field_values_current",
            "applicant_id",
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
    )
