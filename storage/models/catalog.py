"""The service catalogue (事项目录): material types, service items and legal bases.

Service items are versioned: each `hub catalog load` makes a new catalogue version, and a case
refers to the items of the version it was opened under. Material types are long-lived (materials
outlive catalogue versions), so they are updated in place by code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime, utcnow


class CatalogVersion(Base):
    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(500))
    source_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaterialType(Base):
    __tablename__ = "material_types"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    issuing_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    # None means a material of this type does not expire (a birth certificate, say).
    valid_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ServiceItem(Base):
    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    catalog_version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    statutory_days: Mapped[int] = mapped_column(Integer)
    promised_days: Mapped[int] = mapped_column(Integer)
    # 立项用地, 规划许可, 施工许可, 竣工验收 for construction projects; None for everyday items.
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # 超时默许: no answer by the deadline counts as approval.
    silence_is_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    guide: Mapped[str] = mapped_column(Text, default="")
    # Material types (codes, comma-separated) whose holder's right this item ends: a transfer's new
    # property certificate cancels (注销) the seller's, the case's counterparty's.
    cancels: Mapped[str] = mapped_column(String(500), default="")
    # Three-level halls: the centre levels (comma-separated) where the item may be accepted, and the
    # level whose department decides it (None: the catalogue's departments decide, wherever accepted).
    accept_levels: Mapped[str] = mapped_column(String(64), default="city,county,township,village")
    decide_level: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (UniqueConstraint("catalog_version_id", "code"),)


class ServiceItemDepartment(Base):
    """A department taking part in a service item (the lead department is listed too)."""

    __tablename__ = "service_item_departments"

    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)


class ServiceItemMaterial(Base):
    __tablename__ = "service_item_materials"

    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), primary_key=True)
    material_type_id: Mapped[int] = mapped_column(ForeignKey("material_types.id"), primary_key=True)
    # A key material (要件) cannot be missing at acceptance; a non-key one may be promised (容缺).
    is_key: Mapped[bool] = mapped_column(Boolean, default=True)


class LegalBasis(Base):
    """A declared legal basis for reading applicant data outside a case (e.g. an identity check)."""

    __tablename__ = "legal_bases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # Comma-separated profile fields and material type codes this basis allows reading.
    profile_fields: Mapped[str] = mapped_column(Text, default="")
    material_type_codes: Mapped[str] = mapped_column(Text, default="")
