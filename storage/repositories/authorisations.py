"""Authorisations of chief representatives (首席代表), and what the checks and reads need of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Authorisation, Case, Opinion, Principal, ServiceItem, ServiceItemDepartment

MAX_LISTED = 500


async def add_authorisation(session: AsyncSession, authorisation: Authorisation) -> Authorisation:
    session.add(authorisation)
    await session.flush()
    return authorisation


async def authorisation_by_id(
    session: AsyncSession, authorisation_id: int, *, for_update: bool = False
) -> Authorisation | None:
    statement = select(Authorisation).where(Authorisation.id == authorisation_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def authorisations_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Authorisation]:
    if not ids:
        return {}
    rows = await session.execute(select(Authorisation).where(Authorisation.id.in_(sorted(set(ids)))))
    return {row.id: row for row in rows.scalars()}


async def authorisations(
    session: AsyncSession, *, department_id: int | None = None, clerk_principal_id: int | None = None
) -> list[Authorisation]:
    """Newest first, at most MAX_LISTED, of a department, of a clerk, or both."""
    statement = select(Authorisation)
    if department_id is not None:
        statement = statement.where(Authorisation.department_id == department_id)
    if clerk_principal_id is not None:
        statement = statement.where(Authorisation.clerk_principal_id == clerk_principal_id)
    statement = statement.order_by(Authorisation.granted_at.desc(), Authorisation.id.desc()).limit(MAX_LISTED)
    return list((await session.execute(statement)).scalars())


async def in_force(
    session: AsyncSession, clerk_principal_id: int, department_id: int, day: date
) -> list[Authorisation]:
    """The clerk's authorisations of the department that are not withdrawn and run on `day`, oldest first."""
    statement = (
        select(Authorisation)
        .where(
            Authorisation.clerk_principal_id == clerk_principal_id,
            Authorisation.department_id == department_id,
            Authorisation.withdrawn_at.is_(None),
            Authorisation.valid_from <= day,
            Authorisation.valid_until >= day,
        )
        .order_by(Authorisation.id)
    )
    return list((await session.execute(statement)).scalars())


async def principals_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Principal]:
    if not ids:
        return {}
    rows = await session.execute(select(Principal).where(Principal.id.in_(sorted(set(ids)))))
    return {row.id: row for row in rows.scalars()}


async def item_codes_of_department(session: AsyncSession, version_id: int, department_id: int) -> set[str]:
    """The codes of the catalogue version's items the department takes part in."""
    rows = await session.execute(
        select(ServiceItem.code)
        .join(ServiceItemDepartment, ServiceItemDepartment.service_item_id == ServiceItem.id)
        .where(ServiceItem.catalog_version_id == version_id, ServiceItemDepartment.department_id == department_id)
    )
    return set(rows.scalars())


async def authorised_opinions_of_cases(
    session: AsyncSession, receipt_numbers: Sequence[str]
) -> dict[str, list[tuple[int, int]]]:
    """Per receipt number, the (department id, authorisation id) of its opinions given under an authorisation."""
    result: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if not receipt_numbers:
        return result
    rows = await session.execute(
        select(Case.receipt_number, Opinion.department_id, Opinion.authorisation_id)
        .join(Opinion, Opinion.case_id == Case.id)
        .where(Case.receipt_number.in_(sorted(set(receipt_numbers))), Opinion.authorisation_id.is_not(None))
        .order_by(Case.receipt_number, Opinion.id)
    )
    for receipt, department_id, authorisation_id in rows:
        if authorisation_id is not None and (department_id, authorisation_id) not in result[receipt]:
            result[receipt].append((department_id, authorisation_id))
    return result
