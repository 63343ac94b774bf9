"""Materials (一套材料): upload once, find by applicant, read with history, revoke, download.

Every read and write passes `guard` with the material type codes it touches. Validity is computed,
never stored: a valid material whose valid-until date has passed (in China Standard Time) reads as
expired. Revoking and superseding are its keeper's: the issuing department (or, when none is
recorded, the department that uploaded the material), or the window that uploaded it for a case
still gathering materials (a wrong scan). A new version supersedes the old one; old versions stay
readable. The write use cases are all-or-nothing: a refusal leaves only its access entries.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes
from sqlalchemy import Row

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.documents import _download_links as download_links
from hub.documents import _filetypes as filetypes
from hub.documents.store import BlobRef, DocumentStore
from hub.errors import (
    EmptyFile,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    MaterialNotCurrent,
    NotFound,
    UnknownMaterialType,
)
from hub.identifiers import detect_kind
from hub.keys.keyring import Keyring
from hub.outbox import events
from storage.models import Material, MaterialStatus, MaterialVersion
from storage.repositories import applicants as applicants_repo
from storage.repositories import cases as cases_repo
from storage.repositories import catalog as catalog_repo
from storage.repositories import materials as repo
from storage.repositories import principals as departments_repo

CHINA = ZoneInfo("Asia/Shanghai")
MAX_TITLE = 200
MAX_FILE_NAME = 255
MAX_REASON = 2000
DEFAULT_FILE_NAME = "material"


class Status(StrEnum):
    """The status a reader sees: the stored one, or "expired" once valid-until has passed."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


class ApplicantRef(Protocol):
    """Anything naming an applicant by row id and identifier (profiles.ApplicantRecord does)."""

    @property
    def id(self) -> int: ...

    @property
    def id_number(self) -> str: ...


@dataclass(frozen=True, slots=True)
class MaterialRecord:
    id: int
    applicant_id: int
    applicant_id_number: str
    type_code: str
    type_name: str
    title: str
    issuing_department_code: str | None
    issued_on: date | None
    valid_until: date | None
    status: Status
    revoked_reason: str | None
    revoked_at: datetime | None
    superseded_by_id: int | None
    uploaded_by_department_code: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    material_id: int
    version_no: int
    file_name: str
    declared_content_type: str
    content_type: str
    size: int
    uploaded_at: datetime
    superseded_at: datetime | None
    blob_id: int

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


@dataclass(frozen=True, slots=True)
class MaterialDetail:
    material: MaterialRecord
    versions: list[VersionRecord]  # newest first

    @property
    def current_version(self) -> VersionRecord:
        return self.versions[0]


@dataclass(frozen=True, slots=True)
class VersionOfMaterial:
    material: MaterialRecord
    version: VersionRecord


@dataclass(frozen=True, slots=True)
class NewMaterial:
    """What describes a material; dates are calendar dates in China."""

    applicant_id_number: str
    type_code: str
    title: str = ""
    issuing_department_code: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class FileUpload:
    """The bytes of one file: a seekable binary file, its original name and its declared type."""

    file: BinaryIO
    file_name: str
    content_type: str

    @classmethod
    def of_bytes(cls, data: bytes, file_name: str, content_type: str) -> FileUpload:
        return cls(io.BytesIO(data), file_name, content_type)


def today() -> date:
    """Today's date in China (validity dates are Chinese calendar dates)."""
    return datetime.now(CHINA).date()


def effective_status(stored: str, valid_until: date | None, on: date) -> Status:
    if stored == MaterialStatus.VALID.value and valid_until is not None and valid_until < on:
        return Status.EXPIRED
    return Status(stored)


def _documents(ctx: RequestContext) -> DocumentStore:
    if ctx.hub.documents is None:
        raise RuntimeError("this hub was built without a document store")
    return ctx.hub.documents


# reading ---------------------------------------------------------------------------------------


def _record(row: Row[Any], on: date) -> MaterialRecord:
    material: Material = row.Material
    return MaterialRecord(
        id=material.id,
        applicant_id=material.applicant_id,
        applicant_id_number=row.applicant_id_number,
        type_code=row.type_code,
        type_name=row.type_name,
        title=material.title,
        issuing_department_code=row.issuing_department_code,
        issued_on=material.issued_on,
        valid_until=material.valid_until,
        status=effective_status(material.status, material.valid_until, on),
        revoked_reason=material.revoked_reason,
        revoked_at=material.revoked_at,
        superseded_by_id=material.superseded_by_id,
        uploaded_by_department_code=row.uploaded_by_department_code,
        created_at=material.created_at,
    )


def _version(version: MaterialVersion | repo.VersionToDownload) -> VersionRecord:
    """The record of a version, from its entity or from a download's short read (same names)."""
    return VersionRecord(
        id=version.id,
        material_id=version.material_id,
        version_no=version.version_no,
        file_name=version.file_name,
        declared_content_type=version.declared_content_type,
        content_type=version.detected_content_type,
        size=version.size,
        uploaded_at=version.uploaded_at,
        superseded_at=version.superseded_at,
        blob_id=version.blob_id,
    )


async def materials_of_applicants(
    ctx: RequestContext,
    applicants: Sequence[ApplicantRef],
    *,
    type_codes: Sequence[str] | None = None,
    statuses: Sequence[Status] | None = None,
) -> list[list[MaterialRecord]]:
    """Materials of several applicants in one query, per applicant in the order given, newest first."""
    on, rows = await _materials_rows(ctx, applicants, type_codes, statuses, with_versions=False)
    by_applicant: dict[int, list[MaterialRecord]] = {a.id: [] for a in applicants}
    for row in rows:
        by_applicant[row.Material.applicant_id].append(_record(row, on))
    return [by_applicant[a.id] for a in applicants]


async def material_details_of_applicants(
    ctx: RequestContext,
    applicants: Sequence[ApplicantRef],
    *,
    type_codes: Sequence[str] | None = None,
    statuses: Sequence[Status] | None = None,
) -> list[list[MaterialDetail]]:
    """As `materials_of_applicants`, each material with its versions (newest first), still one query."""
    on, rows = await _materials_rows(ctx, applicants, type_codes, statuses, with_versions=True)
    by_applicant: dict[int, list[MaterialDetail]] = {a.id: [] for a in applicants}
    for row in rows:
        per_applicant = by_applicant[row.Material.applicant_id]
        if not per_applicant or per_applicant[-1].material.id != row.Material.id:
            per_applicant.append(MaterialDetail(_record(row, on), []))
        per_applicant[-1].versions.append(_version(row.MaterialVersion))
    return [by_applicant[a.id] for a in applicants]


async def _materials_rows(
    ctx: RequestContext,
    applicants: Sequence[ApplicantRef],
    type_codes: Sequence[str] | None,
    statuses: Sequence[Status] | None,
    *,
    with_versions: bool,
) -> tuple[date, list[Row[Any]]]:
    codes = sorted(set(type_codes)) if type_codes is not None else None
    await guard(
        ctx,
        Action.MATERIAL_READ,
        [a.id_number for a in applicants],
        material_types=codes if codes is not None else ["*"],
        object_ref="materials",
    )
    on = today()
    rows = await repo.materials_of_applicants(
        ctx.session,
        [a.id for a in applicants],
        type_codes=codes,
        statuses=[s.value for s in statuses] if statuses is not None else None,
        today=on,
        with_versions=with_versions,
    )
    return on, rows


@all_or_nothing
async def get_material(ctx: RequestContext, material_id: int) -> MaterialDetail:
    """One material with all its versions, newest first."""
    record = await _guarded_material(ctx, Action.MATERIAL_READ, material_id)
    versions = await repo.versions_of_materials(ctx.session, [material_id])
    return MaterialDetail(record, [_version(v) for v in versions[material_id]])


async def versions_of_materials(ctx: RequestContext, materials: Sequence[MaterialRecord]) -> list[list[VersionRecord]]:
    """Versions of materials the caller has already read through a guarded call (no second entry)."""
    versions = await repo.versions_of_materials(ctx.session, [m.id for m in materials])
    return [[_version(v) for v in versions.get(m.id, [])] for m in materials]


async def versions_by_ids(ctx: RequestContext, version_ids: Sequence[int]) -> list[VersionOfMaterial | None]:
    """Versions (with their materials) by id, in one guarded batch; None where an id is unknown."""
    found = await _versions_with_materials(ctx, version_ids)
    if found:
        await guard(
            ctx,
            Action.MATERIAL_READ,
            sorted({f.material.applicant_id_number for f in found.values()}),
            material_types=sorted({f.material.type_code for f in found.values()}),
            object_ref=_refs("version", sorted(found)),
        )
    return [found.get(version_id) for version_id in version_ids]


async def _guarded_material(ctx: RequestContext, action: Action, material_id: int) -> MaterialRecord:
    row = (await repo.materials_by_ids(ctx.session, [material_id])).get(material_id)
    if row is None:
        # Asking for a material that is not there is an access attempt too: record it first.
        await guard(ctx, action, object_ref=f"material:{material_id}")
        raise NotFound("no material with this id", field="materialId")
    record = _record(row, today())
    await guard(
        ctx, action, [record.applicant_id_number], material_types=[record.type_code], object_ref=f"material:{record.id}"
    )
    return record


def _refs(kind: str, ids: Sequence[int]) -> str:
    """An object_ref naming several objects, cut to fit the log column."""
    text = f"{kind}:" + ",".join(str(i) for i in ids)
    return text if len(text) <= 200 else text[:196] + ",..."


# writing ---------------------------------------------------------------------------------------


@all_or_nothing
async def upload_material(
    ctx: RequestContext, new: NewMaterial, upload: FileUpload, *, supersedes: int | None = None
) -> MaterialDetail:
    """Store a new material with its first version, and commit."""
    detail = await add_material(ctx, new, upload, supersedes=supersedes)
    await ctx.commit()
    return detail


async def add_material(
    ctx: RequestContext,
    new: NewMaterial,
    upload: FileUpload,
    *,
    supersedes: int | None = None,
    correction_requested: bool = False,
) -> MaterialDetail:
    """Create a material and its first version in the caller's transaction (the caller commits).

    Cases use this to issue their results (licences, certificates) as materials: pass the issuing
    department and validity in `new`. `supersedes` names an older material of the same applicant
    and type that the new one replaces: its keeper's right (`_check_keeper`), unless
    `correction_requested`, when a department reviewing the case asked for this very replacement
    (补正) and the case hands it in: the request is the authority, and it is on record.
    """
    session = ctx.session
    _, canonical = detect_kind(new.applicant_id_number)
    # Checked and guarded before the applicant is looked up: no answer tells whether someone is registered.
    material_type = (await catalog_repo.material_types_by_code(session)).get(new.type_code)
    if material_type is None:
        raise UnknownMaterialType(f"no material type with code {new.type_code!r}", field="typeCode")
    await guard(
        ctx, Action.MATERIAL_UPLOAD, [canonical], material_types=[material_type.code], object_ref="material:new"
    )
    applicant = await applicants_repo.applicant_by_id_number(session, canonical)
    if applicant is None:
        raise NotFound("no applicant with this identifier", field="idNumber")
    issuer_id = material_type.issuing_department_id
    if new.issuing_department_code is not None:
        department = await departments_repo.department_by_code(session, new.issuing_department_code)
        if department is None:
            raise InvalidInput(
                f"no department with code {new.issuing_department_code!r}", field="issuingDepartmentCode"
            )
        issuer_id = department.id
    issued_on, valid_until = _validity(new.issued_on, new.valid_until, material_type.valid_days)
    if supersedes is not None:
        await _guarded_material(ctx, Action.MATERIAL_SUPERSEDE, supersedes)
        replaceable = await _replaceable(ctx, supersedes, applicant.id, material_type.id, lock=False)
        if not correction_requested:
            await _check_keeper(ctx, replaceable)
    title = _title(new.title or material_type.name)
    stored = await _store(ctx, upload)
    # Locked only now, so a long upload holds no row lock; checked again in case it changed meanwhile.
    replaced = await _replaceable(ctx, supersedes, applicant.id, material_type.id, lock=True) if supersedes else None

    material = await repo.add_material(
        session,
        Material(
            applicant_id=applicant.id,
            material_type_id=material_type.id,
            title=title,
            issuing_department_id=issuer_id,
            issued_on=issued_on,
            valid_until=valid_until,
            status=MaterialStatus.VALID.value,
            uploaded_by_principal_id=ctx.caller.principal_id,
            uploaded_by_department_id=ctx.caller.department_id,
            created_at=ctx.hub.clock(),
        ),
    )
    await repo.add_version(session, _new_version(ctx, material.id, 1, upload, stored))
    if replaced is not None:
        replaced.status = MaterialStatus.SUPERSEDED.value
        replaced.superseded_by_id = material.id
        await events.material_changed(ctx, replaced.id, events.EventType.MATERIAL_SUPERSEDED)
        await session.flush()
    return await _detail_after_write(ctx, material.id)


@all_or_nothing
async def supersede_material(
    ctx: RequestContext,
    material_id: int,
    upload: FileUpload,
    *,
    title: str | None = None,
    issued_on: date | None = None,
    valid_until: date | None = None,
) -> MaterialDetail:
    """Add a new version of a material; the previous version is marked superseded, never deleted."""
    session = ctx.session
    record = await _guarded_material(ctx, Action.MATERIAL_SUPERSEDE, material_id)
    current = await repo.material_by_id(session, material_id)
    assert current is not None  # it was just read, and materials are never deleted
    await _check_keeper(ctx, current)
    if record.status in (Status.REVOKED, Status.SUPERSEDED):
        raise MaterialNotCurrent(
            f"the material is {record.status.value}; it takes no new version", status=record.status.value
        )
    material_type = (await catalog_repo.material_types_by_code(session))[record.type_code]
    dates_given = issued_on is not None or valid_until is not None
    stored = await _store(ctx, upload)
    material = await repo.material_by_id(session, material_id, for_update=True)
    assert material is not None  # it was just read, and materials are never deleted
    if material.status != MaterialStatus.VALID.value:
        raise MaterialNotCurrent(f"the material is {material.status}; it takes no new version", status=material.status)
    if title is not None:
        material.title = _title(title)
    if dates_given:
        material.issued_on, material.valid_until = _validity(
            issued_on or material.issued_on, valid_until, material_type.valid_days
        )
    now = ctx.hub.clock()
    await repo.supersede_versions(session, material_id, now)
    version_no = await repo.last_version_no(session, material_id) + 1
    await repo.add_version(session, _new_version(ctx, material_id, version_no, upload, stored))
    await events.material_changed(ctx, material_id, events.EventType.MATERIAL_SUPERSEDED)
    await ctx.commit()
    return await _detail_after_write(ctx, material_id)


@all_or_nothing
async def revoke_material(ctx: RequestContext, material_id: int, reason: str) -> MaterialRecord:
    """Revoke a material, with a reason: only its keeper may (`_check_keeper`)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a revocation needs a reason", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters", field="reason")
    await _guarded_material(ctx, Action.MATERIAL_REVOKE, material_id)
    material = await repo.material_by_id(ctx.session, material_id, for_update=True)
    assert material is not None
    await _check_keeper(ctx, material)
    if material.status != MaterialStatus.VALID.value:
        raise MaterialNotCurrent(f"the material is already {material.status}", status=material.status)
    material.status = MaterialStatus.REVOKED.value
    material.revoked_reason = reason
    material.revoked_at = ctx.hub.clock()
    material.revoked_by_principal_id = ctx.caller.principal_id
    await events.material_changed(ctx, material_id, events.EventType.MATERIAL_REVOKED)
    await ctx.commit()
    return (await _detail_after_write(ctx, material_id)).material


async def _check_keeper(ctx: RequestContext, material: Material) -> None:
    """Revoking or superseding is for the material's keeper, else `Forbidden` (missing: right).

    The keeper is the issuing department (or, when none is recorded, the department that uploaded
    it), or the window that uploaded it for a case still gathering materials: a clerk who scanned
    the wrong page puts it right before anyone decides on it.
    """
    caller = ctx.caller
    if (material.issuing_department_id or material.uploaded_by_department_id) == caller.department_id:
        return
    if (
        caller.role is Role.CLERK
        and material.uploaded_by_department_id == caller.department_id
        and await cases_repo.uploaded_for_open_case(ctx.session, material.id, caller.department_id)
    ):
        return
    raise Forbidden(
        "only the issuing department, or the window that uploaded it for a case still open, may revoke or"
        " supersede this material",
        missing="right",
        right="keeper",
    )


async def cancel_material(ctx: RequestContext, material_id: int, reason: str) -> None:
    """注销: the right a certificate proves passed to another holder (行政许可法 art. 70).

    Called by the case that issued the new certificate, in its transaction (the caller commits).
    The material stays on file, CANCELLED with its reason, so cases that pinned it show that it no
    longer holds and no later case reuses it.
    """
    await _guarded_material(ctx, Action.MATERIAL_CANCEL, material_id)
    material = await repo.material_by_id(ctx.session, material_id, for_update=True)
    assert material is not None  # it was just read, and materials are never deleted
    if material.status != MaterialStatus.VALID.value:
        raise MaterialNotCurrent(f"the material is already {material.status}", status=material.status)
    material.status = MaterialStatus.CANCELLED.value
    material.cancelled_at = ctx.hub.clock()
    material.cancel_reason = reason
    await ctx.session.flush()


async def _replaceable(
    ctx: RequestContext, material_id: int, applicant_id: int, type_id: int, *, lock: bool
) -> Material:
    material = await repo.material_by_id(ctx.session, material_id, for_update=lock)
    if material is None or material.applicant_id != applicant_id or material.material_type_id != type_id:
        raise InvalidInput("supersedes must name a material of the same applicant and type", field="supersedes")
    if material.status != MaterialStatus.VALID.value:
        raise MaterialNotCurrent(f"the material to supersede is {material.status}", status=material.status)
    return material


async def _detail_after_write(ctx: RequestContext, material_id: int) -> MaterialDetail:
    row = (await repo.materials_by_ids(ctx.session, [material_id]))[material_id]
    versions = await repo.versions_of_materials(ctx.session, [material_id])
    return MaterialDetail(_record(row, today()), [_version(v) for v in versions[material_id]])


def _validity(
    issued_on: date | None, valid_until: date | None, valid_days: int | None
) -> tuple[date | None, date | None]:
    if valid_until is None and valid_days is not None:
        valid_until = (issued_on or today()) + timedelta(days=valid_days)
    if issued_on is not None and valid_until is not None and valid_until < issued_on:
        raise InvalidInput("validUntil is before issuedOn", field="validUntil")
    return issued_on, valid_until


def _title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidInput("a material needs a title", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is longer than {MAX_TITLE} characters", field="title")
    return title


def clean_file_name(name: str) -> str:
    """The original name without any client path or control characters (kept in Chinese)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:MAX_FILE_NAME] or DEFAULT_FILE_NAME


@dataclass(frozen=True, slots=True)
class _Stored:
    blob: BlobRef
    size: int
    content_type: str
    declared: str


async def _store(ctx: RequestContext, upload: FileUpload) -> _Stored:
    """Check size and type, then write the blob. Refusals happen before any byte is stored."""
    size = _size_of(upload.file)
    if size == 0:
        raise EmptyFile("the file is empty", field="file")
    limit = ctx.hub.settings.max_upload_bytes
    if size > limit:
        raise FileTooLarge(f"the file is {size} bytes; the limit is {limit}", field="file", limit=limit)
    declared = filetypes.normalize(upload.content_type)
    detected = filetypes.check_declared(upload.file, declared)
    blob = await _documents(ctx).put(upload.file, size)
    return _Stored(blob, size, detected, declared)


def _size_of(file: BinaryIO) -> int:
    file.seek(0, io.SEEK_END)
    return file.tell()


def _new_version(
    ctx: RequestContext, material_id: int, version_no: int, upload: FileUpload, stored: _Stored
) -> MaterialVersion:
    return MaterialVersion(
        material_id=material_id,
        version_no=version_no,
        blob_id=stored.blob.id,
        file_name=filetypes.name_with_extension(clean_file_name(upload.file_name), stored.content_type, MAX_FILE_NAME),
        declared_content_type=stored.declared,
        detected_content_type=stored.content_type,
        size=stored.size,
        uploaded_at=ctx.hub.clock(),
        uploaded_by_principal_id=ctx.caller.principal_id,
    )


# downloading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DownloadLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Download:
    """An opened version: its metadata, the byte range served, and the plaintext stream."""

    version: VersionRecord
    etag: str
    start: int
    end: int
    chunks: AsyncIterator[memoryview]


def download_link(ctx: RequestContext, version: VersionRecord) -> DownloadLink:
    """A short-lived link for the caller to fetch a version it has just read (the fetch is guarded)."""
    settings = ctx.hub.settings
    token, expires_at = download_links.issue(
        Keyring(settings.secrets_dir),
        version.id,
        ctx.caller.principal_id,
        ctx.purpose,
        ctx.hub.clock(),
        timedelta(seconds=settings.download_link_seconds),
    )
    return DownloadLink(token, expires_at)


@all_or_nothing
async def version_for_download(
    ctx: RequestContext, version_id: int, servable: Callable[[VersionRecord, BlobRef], object] | None = None
) -> tuple[VersionRecord, BlobRef]:
    """Guard and log a download of one version (committed before any byte is sent).

    `servable` checks the request against the version before the access is recorded: a request
    answered without the file (a range beyond its end) must not appear in the log as a download."""
    found = await repo.version_to_download(ctx.session, version_id)
    if found is None:
        raise NotFound("no material version with this id", field="version")
    version = _version(found)
    blob = BlobRef(
        found.blob_id,
        found.blob_name,
        found.blob_size,
        found.blob_chunk_size,
        found.blob_key_id,
        found.blob_wrapped_key,
    )
    if servable is not None:
        servable(version, blob)
    await guard(
        ctx,
        Action.MATERIAL_DOWNLOAD,
        [found.applicant_id_number],
        material_types=[found.type_code],
        object_ref=f"material:{found.material_id}/version:{version.version_no}",
    )
    await ctx.commit()
    return version, blob


async def open_version(ctx: RequestContext, version: VersionRecord, blob: BlobRef, start: int, end: int) -> Download:
    chunks = await _documents(ctx).open(blob, start, end)
    return Download(version, etag_of(blob), start, end, chunks)


def etag_of(blob: BlobRef) -> str:
    """A strong ETag for the blob's bytes that does not reveal its keyed name."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"etag:" + blob.name.encode("ascii"))
    return '"' + digest.finalize().hex()[:32] + '"'


async def _versions_with_materials(ctx: RequestContext, version_ids: Sequence[int]) -> dict[int, VersionOfMaterial]:
    versions = await repo.versions_by_ids(ctx.session, list(set(version_ids)))
    rows = await repo.materials_by_ids(ctx.session, list({v.material_id for v in versions.values()}))
    on = today()
    return {
        version_id: VersionOfMaterial(_record(rows[version.material_id], on), _version(version))
        for version_id, version in versions.items()
    }
