"""Materials over GraphQL: list, read with versions, upload (multipart), supersede, revoke, links."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry
from starlette.datastructures import UploadFile
from strawberry.dataloader import DataLoader
from strawberry.file_uploads import Upload

from hub.documents import materials
from hub.errors import InvalidInput
from hub.profiles.applicants import ApplicantRecord
from schema import typed
from schema.context import Info, selects
from schema.types.plain import plain_of


@strawberry.enum(description="valid, expired (past valid-until, computed daily in China), revoked, superseded.")
class MaterialStatus(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


@strawberry.type(description="A short-lived signed link; GET it to download (Range and ETag supported).")
class DownloadLink:
    url: str
    expires_at: datetime


@strawberry.type(description="One uploaded file of a material. Old versions stay readable.")
class MaterialVersion:
    # Plain fields, filled by `version_of` (schema/types/plain.py).
    id: int
    version_no: int
    file_name: str = strawberry.field(description="The name the uploader gave the file.")
    content_type: str = strawberry.field(description="The type found in the file's first bytes.")
    size: float = strawberry.field(description="Size in bytes.")
    uploaded_at: datetime
    superseded_at: datetime | None
    current: bool = strawberry.field(description="Whether this is the material's current version.")
    record: strawberry.Private[materials.VersionRecord]

    @typed.field(description="A signed link to download this version; the download is checked and logged.")
    def download_link(self, info: Info) -> DownloadLink:
        link = materials.download_link(info.context.hub, self.record)
        base = str(info.context.request.base_url).rstrip("/")
        return DownloadLink(url=f"{base}/files/{link.token}", expires_at=link.expires_at)


def version_of(record: materials.VersionRecord) -> MaterialVersion:
    return plain_of(MaterialVersion, record, size=float(record.size), current=record.is_current, record=record)


@strawberry.type(description="A material (材料) of an applicant: an ID card scan, a licence, a drawing set...")
class Material:
    # Plain fields, filled by `material_of` (schema/types/plain.py).
    id: int
    applicant_id_number: str
    type_code: str
    type_name: str
    title: str
    issuing_department_code: str | None
    issued_on: date | None
    valid_until: date | None = strawberry.field(
        description="Last day of validity (inclusive); null if the material does not expire."
    )
    status: MaterialStatus
    revoked_reason: str | None
    revoked_at: datetime | None
    superseded_by_id: int | None = strawberry.field(
        description="The material that replaced this one, if it was superseded."
    )
    uploaded_by_department_code: str
    created_at: datetime
    record: strawberry.Private[materials.MaterialRecord]

    @typed.field(description="Every version, newest first.")
    async def versions(self, info: Info) -> list[MaterialVersion]:
        return [version_of(v) for v in await _versions(info, self.record)]

    @strawberry.field
    async def current_version(self, info: Info) -> MaterialVersion:
        return version_of((await _versions(info, self.record))[0])


async def _versions(info: Info, record: materials.MaterialRecord) -> list[materials.VersionRecord]:
    return await _versions_loader(info).load(record)


def _versions_loader(info: Info) -> DataLoader[materials.MaterialRecord, list[materials.VersionRecord]]:
    ctx = info.context.hub

    async def batch(records: list[materials.MaterialRecord]) -> list[list[materials.VersionRecord]]:
        return await materials.versions_of_materials(ctx, records)

    return info.context.loader("material-versions", batch)


def material_of(record: materials.MaterialRecord) -> Material:
    return plain_of(Material, record, status=MaterialStatus(record.status.value), record=record)


def _statuses(statuses: list[MaterialStatus] | None) -> tuple[materials.Status, ...] | None:
    return tuple(sorted({materials.Status(s.value) for s in statuses})) if statuses is not None else None


async def materials_of_applicant(
    info: Info, applicant: ApplicantRecord, type_codes: list[str] | None, statuses: list[MaterialStatus] | None
) -> list[Material]:
    """Through a DataLoader, so a list of applicants costs one query for all their materials."""
    codes = tuple(sorted(set(type_codes))) if type_codes is not None else None
    wanted = _statuses(statuses)
    ctx = info.context.hub

    with_versions = selects(info, "versions", "currentVersion")

    async def batch(applicants: list[ApplicantRecord]) -> list[list[Material]]:
        if not with_versions:
            found = await materials.materials_of_applicants(ctx, applicants, type_codes=codes, statuses=wanted)
            return [[material_of(m) for m in per_applicant] for per_applicant in found]
        # Versions come in the same query: handed to the versions loader, which then asks nothing.
        details = await materials.material_details_of_applicants(ctx, applicants, type_codes=codes, statuses=wanted)
        versions = _versions_loader(info)
        versions.prime_many({d.material: d.versions for per_applicant in details for d in per_applicant})
        return [[material_of(d.material) for d in per_applicant] for per_applicant in details]

    return await info.context.loader(("materials", codes, wanted, with_versions), batch).load(applicant)


@strawberry.type
class MaterialQuery:
    @typed.field(description="One material with its versions.")
    async def material(self, info: Info, id: int) -> Material:
        detail = await materials.get_material(info.context.hub, id)
        return material_of(detail.material)


@strawberry.input(description="A new material. The file goes as a multipart upload (GraphQL multipart request spec).")
class UploadMaterialInput:
    id_number: str = strawberry.field(description="The applicant's resident ID or credit code.")
    type_code: str
    file: Upload
    title: str = strawberry.field(default="", description="Defaults to the material type's name.")
    issuing_department_code: str | None = strawberry.field(
        default=None, description="Defaults to the material type's issuing department."
    )
    issued_on: date | None = None
    valid_until: date | None = strawberry.field(default=None, description="Defaults from the type's valid days.")
    supersedes: int | None = strawberry.field(
        default=None, description="An older material of the same applicant and type that this one replaces."
    )


@strawberry.input(description="A new version of an existing material; the previous version is kept.")
class SupersedeMaterialInput:
    material_id: int
    file: Upload
    title: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None


@strawberry.input
class RevokeMaterialInput:
    material_id: int
    reason: str


def _file(upload: Upload) -> materials.FileUpload:
    # Typed by strawberry as bytes; over ASGI, multipart parsing gives a starlette UploadFile. Any
    # other value came as a plain variable (a string in JSON, say), not as a file part.
    if not isinstance(upload, UploadFile):
        raise InvalidInput("the file must be sent as a file part of a multipart request", field="file")
    return materials.FileUpload(upload.file, upload.filename or "", upload.content_type or "")


@strawberry.type
class MaterialMutation:
    @typed.mutation(description="Upload a material for an applicant (its first version).")
    async def upload_material(self, info: Info, input: UploadMaterialInput) -> Material:
        detail = await materials.upload_material(
            info.context.hub,
            materials.NewMaterial(
                applicant_id_number=input.id_number,
                type_code=input.type_code,
                title=input.title,
                issuing_department_code=input.issuing_department_code,
                issued_on=input.issued_on,
                valid_until=input.valid_until,
            ),
            _file(input.file),
            supersedes=input.supersedes,
        )
        return material_of(detail.material)

    @typed.mutation(description="Upload a new version of a material; the old one stays readable.")
    async def supersede_material(self, info: Info, input: SupersedeMaterialInput) -> Material:
        detail = await materials.supersede_material(
            info.context.hub,
            input.material_id,
            _file(input.file),
            title=input.title,
            issued_on=input.issued_on,
            valid_until=input.valid_until,
        )
        return material_of(detail.material)

    @typed.mutation(description="Revoke a material, with a reason. Only its issuing department may.")
    async def revoke_material(self, info: Info, input: RevokeMaterialInput) -> Material:
        return material_of(await materials.revoke_material(info.context.hub, input.material_id, input.reason))
