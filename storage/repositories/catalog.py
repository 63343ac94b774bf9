"""The service catalogue: versions, material types, service items, legal bases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CatalogVersion,
    Department,
    LegalBasis,
    MaterialType,
    ServiceItem,
    ServiceItemDepartment,
    ServiceItemMaterial,
)

_CURRENT_VERSION_ID = select(func.max(CatalogVersion.id))


async def current_version_id(session: AsyncSession) -> int | None:
    """Core, not the ORM's execute: one value, read on every notice and case opened."""
    connection = await session.connection()
    version_id: int | None = (await connection.execute(_CURRENT_VERSION_ID)).scalar_one()
    return version_id


async def material_types(session: AsyncSession) -> list[MaterialType]:
    return list((await session.execute(select(MaterialType).order_by(MaterialType.code))).scalars())


_MATERIAL_TYPE_CODES = select(MaterialType.code)


async def material_type_codes(session: AsyncSession) -> frozenset[str]:
    """Every material type's code: what a purpose covering all materials covers (no entity loaded)."""
    return frozenset((await session.execute(_MATERIAL_TYPE_CODES)).scalars())


async def material_types_by_code(session: AsyncSession) -> dict[str, MaterialType]:
    return {material_type.code: material_type for material_type in await material_types(session)}


async def material_types_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, MaterialType]:
    if not ids:
        return {}
    rows = await session.execute(select(MaterialType).where(MaterialType.id.in_(ids)))
    return {material_type.id: material_type for material_type in rows.scalars()}


async def service_items(
    session: AsyncSession, version_id: int, *, codes: Sequence[str] | None = None, stage: str | None = None
) -> list[ServiceItem]:
    statement = select(ServiceItem).where(ServiceItem.catalog_version_id == version_id)
    if codes is not None:
        statement = statement.where(ServiceItem.code.in_(codes))
    if stage is not None:
        statement = statement.where(ServiceItem.stage == stage)
    return list((await session.execute(statement.order_by(ServiceItem.code))).scalars())


async def service_items_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, ServiceItem]:
    if not ids:
        return {}
    rows = await session.execute(select(ServiceItem).where(ServiceItem.id.in_(ids)))
    return {item.id: item for item in rows.scalars()}


# Read on every list of cases: built once (building a select costs as much CPU as running it).
_DEPARTMENTS_OF_ITEMS = (
    select(ServiceItemDepartment.service_item_id, Department)
    .join(Department, Department.id == ServiceItemDepartment.department_id)
    .where(ServiceItemDepartment.service_item_id.in_(bindparam("item_ids", expanding=True)))
    .order_by(Department.code)
)
_MATERIALS_OF_ITEMS = (
    select(ServiceItemMaterial.service_item_id, MaterialType, ServiceItemMaterial.is_key)
    .join(MaterialType, MaterialType.id == ServiceItemMaterial.material_type_id)
    .where(ServiceItemMaterial.service_item_id.in_(bindparam("item_ids", expanding=True)))
    .order_by(MaterialType.code)
)


async def departments_of_items(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, list[Department]]:
    """Participating departments per item, by code, in one query."""
    result: dict[int, list[Department]] = defaultdict(list)
    if not item_ids:
        return result
    for item_id, department in await session.execute(_DEPARTMENTS_OF_ITEMS, {"item_ids": list(item_ids)}):
        result[item_id].append(department)
    return result


async def materials_of_items(
    session: AsyncSession, item_ids: Sequence[int]
) -> dict[int, list[tuple[MaterialType, bool]]]:
    """Required material types per item, each with its key (要件) flag, in one query."""
    result: dict[int, list[tuple[MaterialType, bool]]] = defaultdict(list)
    if not item_ids:
        return result
    for item_id, material_type, is_key in await session.execute(_MATERIALS_OF_ITEMS, {"item_ids": list(item_ids)}):
        result[item_id].append((material_type, is_key))
    return result


async def legal_bases(session: AsyncSession) -> list[LegalBasis]:
    return list((await session.execute(select(LegalBasis).order_by(LegalBasis.code))).scalars())


async def legal_basis_by_code(session: AsyncSession, code: str) -> LegalBasis | None:
    return (await session.execute(select(LegalBasis).where(LegalBasis.code == code))).scalar_one_or_none()
