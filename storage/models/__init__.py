"""All models, imported here so Alembic and the tests see the whole metadata."""

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
from storage.models.supervision import (
    Alert,
    AlertEvent,
    Complaint,
    HourlyReads,
    Sample,
    SupervisionRule,
    TimingState,
    TimingWarning,
    Watermark,
)

__all__ = [
    "AccessEntry",
    "Alert",
    "AlertEvent",
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
    "Complaint",
    "Department",
    "HourlyReads",
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
    "Sample",
    "ServiceItem",
    "ServiceItemDepartment",
    "ServiceItemMaterial",
    "SupervisionRule",
    "TimingState",
    "TimingWarning",
    "Watermark",
]
