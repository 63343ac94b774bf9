"""All models, imported here so Alembic and the tests see the whole metadata."""

from storage.models.accounts import ConsoleSession, ConsoleUser
from storage.models.audit import AccessEntry, AuditCheckpoint, AuditCounter, AuditLogState, AuditTile
from storage.models.authorisations import Authorisation
from storage.models.base import Base
from storage.models.calendar import CalendarNotice, CalendarNoticeDay
from storage.models.cases import (
    Case,
    CaseItem,
    CaseMaterial,
    CaseResult,
    JointReviewMinutes,
    Opinion,
    ReceiptCounter,
    ReviewPause,
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
from storage.models.connectors import ConnectorRun, ConnectorSchedule, IssuedMaterial, PullWatermark
from storage.models.halls import Centre, CentreLevel, Visit
from storage.models.materials import Blob, BlobState, Material, MaterialStatus, MaterialVersion
from storage.models.people import Applicant, Department, Principal, ProfileFieldValue, RetiredToken
from storage.models.supervision import (
    Alert,
    AlertEvent,
    Complaint,
    HourApplicant,
    HourlyReads,
    Sample,
    SupervisionRule,
    TimingState,
    TimingWarning,
    Watermark,
)
from storage.models.trusted import TrustedDocument
from storage.models.webhooks import DeliveryStatus, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccessEntry",
    "Alert",
    "AlertEvent",
    "Applicant",
    "AuditCheckpoint",
    "AuditCounter",
    "AuditLogState",
    "AuditTile",
    "Authorisation",
    "Base",
    "Blob",
    "BlobState",
    "CalendarNotice",
    "CalendarNoticeDay",
    "Case",
    "CaseItem",
    "CaseMaterial",
    "CaseResult",
    "CatalogVersion",
    "Centre",
    "CentreLevel",
    "Complaint",
    "ConnectorRun",
    "ConnectorSchedule",
    "ConsoleSession",
    "ConsoleUser",
    "DeliveryStatus",
    "Department",
    "HourApplicant",
    "HourlyReads",
    "IssuedMaterial",
    "JointReviewMinutes",
    "LegalBasis",
    "Material",
    "MaterialStatus",
    "MaterialType",
    "MaterialVersion",
    "Opinion",
    "OutboxEvent",
    "Principal",
    "ProfileFieldValue",
    "PullWatermark",
    "ReceiptCounter",
    "RetiredToken",
    "ReviewPause",
    "ReviewTask",
    "Sample",
    "ServiceItem",
    "ServiceItemDepartment",
    "ServiceItemMaterial",
    "SupervisionRule",
    "TimingState",
    "TimingWarning",
    "TrustedDocument",
    "Visit",
    "Watermark",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
