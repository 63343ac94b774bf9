"""Departments and principals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, TypeAlias, cast

from sqlalchemy import CursorResult, bindparam, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Department, Principal, RetiredToken
from storage.models.base import utcnow
from storage.repositories import driver

# A principal with the department code a request's caller needs.
_PRINCIPAL = select(
    Principal.id,
    Principal.name,
    Principal.role,
    Principal.department_id,
    Department.code.label("department_code"),
    Principal.applicant_ref,
).join(Department, Department.id == Principal.department_id)
# Built once: the first runs on every request, and building a select costs as much client CPU as
# running it.
_ACTIVE_PRINCIPAL_BY_TOKEN_HASH = _PRINCIPAL.where(
    Principal.token_hash == bindparam("token_hash"), Principal.revoked_at.is_(None)
)
# A download link names the principal it was issued to: served only while that one is active.
_ACTIVE_PRINCIPAL_BY_ID = _PRINCIPAL.where(Principal.id == bindparam("principal_id"), Principal.revoked_at.is_(None))
# Whoever holds or held a token hash (revoked, or rotated out since): the one look-up every refused
# token costs, found or not.
_HOLDER_OF_TOKEN_HASH = (
    _PRINCIPAL.add_columns(
        Principal.revoked_at,
        (Principal.token_hash != bindparam("token_hash")).label("rotated_out"),
    )
    .where(
        or_(
            Principal.token_hash == bindparam("token_hash"),
            Principal.id.in_(
                select(RetiredToken.principal_id).where(RetiredToken.token_hash == bindparam("token_hash"))
            ),
        )
    )
    .limit(1)
)

# id, name, role, department_id, department_code, applicant_ref
PrincipalRow: TypeAlias = Row[int, str, str, int, str, str | None]
# the same, then revoked_at and whether the hash is one a rotation replaced
HolderRow: TypeAlias = Row[int, str, str, int, str, str | None, datetime | None, bool]


async def principal_by_token_hash(session: AsyncSession, token_hash: str) -> PrincipalRow | None:
    """The active principal holding this token hash, joined with its department code."""
    return (await session.execute(_ACTIVE_PRINCIPAL_BY_TOKEN_HASH, {"token_hash": token_hash})).first()


class ActivePrincipal(NamedTuple):
    id: int
    name: str
    role: str
    department_id: int
    department_code: str
    applicant_ref: str | None


async def active_principal(session: AsyncSession, principal_id: int) -> ActivePrincipal | None:
    """The principal while it is active, in one short read on the driver (a download's first look-up)."""
    rows = await driver.fetch_short(session, _ACTIVE_PRINCIPAL_BY_ID, {"principal_id": principal_id})
    return ActivePrincipal(*rows[0]) if rows else None


async def holder_of_token_hash(session: AsyncSession, token_hash: str) -> HolderRow | None:
    """The principal holding this token hash, or who held it before a rotation; with `revoked_at`
    and `rotated_out`."""
    return (await session.execute(_HOLDER_OF_TOKEN_HASH, {"token_hash": token_hash})).first()


async def department_by_code(session: AsyncSession, code: str) -> Department | None:
    return (await session.execute(select(Department).where(Department.code == code))).scalar_one_or_none()


async def departments_by_ids(session: AsyncSession, ids: list[int]) -> dict[int, Department]:
    if not ids:
        return {}
    rows = await session.execute(select(Department).where(Department.id.in_(ids)))
    return {department.id: department for department in rows.scalars()}


async def list_departments(session: AsyncSession) -> list[Department]:
    return list((await session.execute(select(Department).order_by(Department.code))).scalars())


async def upsert_department(session: AsyncSession, code: str, name: str, *, is_supervision: bool = False) -> Department:
    department = await department_by_code(session, code)
    if department is None:
        department = Department(code=code, name=name, is_supervision=is_supervision)
        session.add(department)
    else:
        department.name = name
        department.is_supervision = is_supervision
    await session.flush()
    return department


async def add_principal(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    department_id: int,
    token_hash: str,
    token_prefix: str,
    applicant_ref: str | None = None,
    centre_id: int | None = None,
) -> Principal:
    principal = Principal(
        name=name,
        role=role,
        department_id=department_id,
        token_hash=token_hash,
        token_prefix=token_prefix,
        applicant_ref=applicant_ref,
        centre_id=centre_id,
    )
    session.add(principal)
    await session.flush()
    return principal


async def list_principals(session: AsyncSession) -> list[tuple[Principal, str]]:
    rows = await session.execute(
        select(Principal, Department.code)
        .join(Department, Department.id == Principal.department_id)
        .order_by(Principal.id)
    )
    return [(principal, code) for principal, code in rows]


async def revoke_principal(session: AsyncSession, principal_id: int, when: datetime) -> bool:
    # An UPDATE without RETURNING yields a CursorResult; AsyncSession.execute is typed to return Result.
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Principal)
            .where(Principal.id == principal_id, Principal.revoked_at.is_(None))
            .values(revoked_at=when)
        ),
    )
    return result.rowcount == 1


async def replace_token(
    session: AsyncSession, principal_id: int, token_hash: str, token_prefix: str
) -> Principal | None:
    """Give an active principal a new token hash; None if there is no such active principal."""
    principal = await session.get(Principal, principal_id)
    if principal is None or principal.revoked_at is not None:
        return None
    session.add(RetiredToken(token_hash=principal.token_hash, principal_id=principal.id, retired_at=utcnow()))
    principal.token_hash, principal.token_prefix = token_hash, token_prefix
    await session.flush()
    return principal
