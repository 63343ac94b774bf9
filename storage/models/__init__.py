"""All models, imported here so Alembic and the tests see the whole metadata."""

from storage.models.accounts import ConsoleSession, ConsoleUser
from storage.models.audit import AccessEntry, AuditCheckpoint, AuditLogState, AuditTile
from storage.models.base import Base
from storage.models.cases import (
    Case,
    CaseItem,
    CaseMaterial,
    CaseResult,
    JointReviewMinutes,
    Opinion,
    ReceiptCounter,
    ReviewTask,
)
from storage.models.catalog import (
    CatalogVersion,
    LegalBasis,
    MaterialType,
    ServiceItem,
    ServiceItemDepartment,
    ServiceItemMaterial,
)
from storage.models.materials import Blob, BlobState, Material, MaterialStatus, MaterialVersion
from storage.models.people import Applicant, Department, Principal, ProfileFieldValue

__all__ = [
    "AccessEntry",
    "Applicant",
    "AuditCheckpoint",
    "AuditLogState",
    "AuditTile",
    "Base",
    "Blob",
    "BlobState",
    "Case",
    "CaseItem",
    "CaseMaterial",
    "CaseResult",
    "CatalogVersion",
    "ConsoleSession",
    "ConsoleUser",
    "Department",
    "JointReviewMinutes",
    "LegalBasis",
    "Material",
    "MaterialStatus",
    "MaterialType",
    "MaterialVersion",
    "Opinion",
    "Principal",
    "ProfileFieldValue",
    "ReceiptCounter",
    "ReviewTask",
    "ServiceItem",
    "ServiceItemDepartment",
    "ServiceItemMaterial",
]
