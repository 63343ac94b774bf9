"""Materials and their versions: batch reads (one query per call, never one per item) and writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeAlias

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Applicant,
    Blob,
    Department,
    Material,
    MaterialStatus,
    MaterialType,
    MaterialVersion,
)
from storage.repositories import driver

IssuingDepartment = aliased(Department)
UploadingDepartment = aliased(Department)

_MATERIAL_COLUMNS = (
    Material,
    Applicant.id_number.label("applicant_id_number"),
    MaterialType.code.label("type_code"),
    MaterialType.name.label("type_name"),
    IssuingDepartment.code.label("issuing_department_code"),
    UploadingDepartment.code.label("uploaded_by_department_code"),
)
# Material, applicant_id_number, type_code, type_name, issuing_department_code (outer join, so
# NULL when the material names no issuer), uploaded_by_department_code.
MaterialSelect: TypeAlias = Select[Material, str, str, str, str | None, str]
# The same columns with each version of the material beside them.
MaterialWithVersionSelect: TypeAlias = Select[Material, str, str, str, str | None, str, MaterialVersion]


def _material_select() -> MaterialSelect:
    return (
        select(*_MATERIAL_COLUMNS)
        .join(Applicant, Applicant.id == Material.applicant_id)
        .join(MaterialType, MaterialType.id == Material.material_type_id)
        .join(UploadingDepartment, UploadingDepartment.id == Material.uploaded_by_department_id)
        .outerjoin(IssuingDepartment, IssuingDepartment.id == Material.issuing_department_id)
    )


# The read path's statements, built once (building a select costs as much CPU as running it).
_ALL_MATERIALS_OF_APPLICANTS = (
    _material_select()
    .where(Material.applicant_id.in_(bindparam("applicant_ids", expanding=True)))
    .order_by(Material.applicant_id, Material.id.desc())
)


def _with_versions(statement: MaterialSelect) -> MaterialWithVersionSelect:
    return (
        statement.add_columns(MaterialVersion)
        .join(MaterialVersion, MaterialVersion.material_id == Material.id)
        .order_by(MaterialVersion.version_no.desc())
    )


_ALL_MATERIALS_WITH_VERSIONS = _with_versions(_ALL_MATERIALS_OF_APPLICANTS)
_VERSIONS_OF_MATERIALS = (
    select(MaterialVersion)
    .where(MaterialVersion.material_id.in_(bindparam("material_ids", expanding=True)))
    .order_by(MaterialVersion.material_id, MaterialVersion.version_no.desc())
)


class VersionToDownload(NamedTuple):
    """What serving one version takes: its columns, the two of its material the policy asks about
    (whose material, of which type) and its blob's, read as values in one short statement."""

    id: int
    material_id: int
    version_no: int
    file_name: str
    declared_content_type: str
    detected_content_type: str
    size: int
    uploaded_at: datetime
    superseded_at: datetime | None
    blob_id: int
    applicant_id_number: str
    type_code: str
    blob_name: str
    blob_size: int
    blob_chunk_size: int
    blob_key_id: str
    blob_wrapped_key: bytes


_VERSION_TO_DOWNLOAD = (
    select(
        MaterialVersion.id,
        MaterialVersion.material_id,
        MaterialVersion.version_no,
        MaterialVersion.file_name,
        MaterialVersion.declared_content_type,
        MaterialVersion.detected_content_type,
        MaterialVersion.size,
        MaterialVersion.uploaded_at,
        MaterialVersion.superseded_at,
        MaterialVersion.blob_id,
        Applicant.id_number,
        MaterialType.code,
        Blob.name,
        Blob.size,
        Blob.chunk_size,
        Blob.key_id,
        Blob.wrapped_key,
    )
    .join(Material, Material.id == MaterialVersion.material_id)
    .join(Applicant, Applicant.id == Material.applicant_id)
    .join(MaterialType, MaterialType.id == Material.material_type_id)
    .join(Blob, Blob.id == MaterialVersion.blob_id)
    .where(MaterialVersion.id == bindparam("version_id"))
)


async def version_to_download(session: AsyncSession, version_id: int) -> VersionToDownload | None:
    """One short read on the driver (storage/repositories/driver.py) instead of three through the
    ORM: a download's fixed cost is mostly its look-ups (docs/documents.md, "Small files")."""
    rows = await driver.fetch_short(session, _VERSION_TO_DOWNLOAD, {"version_id": version_id})
    return VersionToDownload(*rows[0]) if rows else None


def status_condition(status: str, today: date) -> ColumnElement[bool]:
    """SQL condition for an effective status; "expired" and "valid" depend on today's date."""
    if status == "expired":
        return and_(Material.status == MaterialStatus.VALID.value, Material.valid_until < today)
    if status == MaterialStatus.VALID.value:
        return and_(
            Material.status == MaterialStatus.VALID.value,
            or_(Material.valid_until.is_(None), Material.valid_until >= today),
        )
    return Material.status == status


async def materials_of_applicants(
    session: AsyncSession,
    applicant_ids: Sequence[int],
    *,
    type_codes: Sequence[str] | None,
    statuses: Sequence[str] | None,
    today: date,
    with_versions: bool = False,
) -> list[Row[*tuple[Any, ...]]]:
    """Materials of several applicants in one query, newest first per applicant.

    `with_versions`: one row per version (newest first), its `MaterialVersion` beside the material's
    columns, so a list that shows versions costs one query, not two."""
    if not applicant_ids:
        return []
    if type_codes is None and statuses is None:
        statement = _ALL_MATERIALS_WITH_VERSIONS if with_versions else _ALL_MATERIALS_OF_APPLICANTS
        return list((await session.execute(statement, {"applicant_ids": list(applicant_ids)})).all())
    statement = _material_select().where(Material.applicant_id.in_(applicant_ids))
    if type_codes is not None:
        statement = statement.where(MaterialType.code.in_(type_codes))
    if statuses is not None:
        statement = statement.where(or_(*(status_condition(s, today) for s in statuses)))
    statement = statement.order_by(Material.applicant_id, Material.id.desc())
    if with_versions:
        statement = _with_versions(statement)
    return list((await session.execute(statement)).all())


async def materials_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Row[*tuple[Any, ...]]]:
    if not ids:
        return {}
    rows = await session.execute(_material_select().where(Material.id.in_(ids)))
    return {row.Material.id: row for row in rows}


async def material_by_id(session: AsyncSession, material_id: int, *, for_update: bool = False) -> Material | None:
    """The material row; locked with `for_update`, so concurrent writers take turns."""
    statement = select(Material).where(Material.id == material_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def versions_of_materials(session: AsyncSession, material_ids: Sequence[int]) -> dict[int, list[MaterialVersion]]:
    """Versions per material, newest first, in one query."""
    result: dict[int, list[MaterialVersion]] = defaultdict(list)
    if not material_ids:
        return result
    rows = await session.execute(_VERSIONS_OF_MATERIALS, {"material_ids": list(material_ids)})
    for version in rows.scalars():
        result[version.material_id].append(version)
    return result


async def versions_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, MaterialVersion]:
    if not ids:
        return {}
    rows = await session.execute(select(MaterialVersion).where(MaterialVersion.id.in_(ids)))
    return {version.id: version for version in rows.scalars()}


async def last_version_no(session: AsyncSession, material_id: int) -> int:
    statement = select(func.max(MaterialVersion.version_no)).where(MaterialVersion.material_id == material_id)
    return (await session.execute(statement)).scalar_one() or 0


async def add_material(session: AsyncSession, material: Material) -> Material:
    session.add(material)
    await session.flush()
    return material


async def add_version(session: AsyncSession, version: MaterialVersion) -> MaterialVersion:
    session.add(version)
    await session.flush()
    return version


async def supersede_versions(session: AsyncSession, material_id: int, when: datetime) -> None:
    await session.execute(
        update(MaterialVersion)
        .where(MaterialVersion.material_id == material_id, MaterialVersion.superseded_at.is_(None))
        .values(superseded_at=when)
    )
