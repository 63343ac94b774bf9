"""Authorisations of chief representatives (首席代表), and what the checks and reads need of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TypeAlias

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Authorisation, Case, Department, Opinion, Principal, ServiceItem, ServiceItemDepartment

MAX_LISTED = 500

# An authorisation with its department, clerk, granting principal and withdrawing one (if any).
AuthorisationRow: TypeAlias = tuple[Authorisation, Department, Principal, Principal, Principal | None]
_CLERK, _GRANTER, _WITHDRAWER = aliased(Principal), aliased(Principal), aliased(Principal)


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


# Authorisations with their department and principals; each call adds its filters.
_WITH_NAMES = (
    select(Authorisation, Department, _CLERK, _GRANTER, _WITHDRAWER)
    .join(Department, Department.id == Authorisation.department_id)
    .join(_CLERK, _CLERK.id == Authorisation.clerk_principal_id)
    .join(_GRANTER, _GRANTER.id == Authorisation.granted_by_principal_id)
    .outerjoin(_WITHDRAWER, _WITHDRAWER.id == Authorisation.withdrawn_by_principal_id)
)


async def authorisations(
    session: AsyncSession,
    *,
    ids: Sequence[int] | None = None,
    department_id: int | None = None,
    clerk_principal_id: int | None = None,
) -> list[AuthorisationRow]:
    """With their department and principals, in one query: these ids, or newest first (at most
    MAX_LISTED) of a department, of a clerk, or both."""
    statement = _WITH_NAMES
    if ids is not None:
        statement = statement.where(Authorisation.id.in_(sorted(set(ids))))
    if department_id is not None:
        statement = statement.where(Authorisation.department_id == department_id)
    if clerk_principal_id is not None:
        statement = statement.where(Authorisation.clerk_principal_id == clerk_principal_id)
    statement = statement.order_by(Authorisation.granted_at.desc(), Authorisation.id.desc()).limit(MAX_LISTED)
    return [(a, d, c, g, w) for a, d, c, g, w in await session.execute(statement)]


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


async def principal_by_id(session: AsyncSession, principal_id: int) -> Principal | None:
    return await session.get(Principal, principal_id)


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
