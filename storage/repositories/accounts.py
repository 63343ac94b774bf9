"""People's console accounts and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleSession, ConsoleUser, Department, Principal


async def user_by_login(session: AsyncSession, login: str, *, for_update: bool = False) -> ConsoleUser | None:
    statement = select(ConsoleUser).where(ConsoleUser.login == login)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def add_user(session: AsyncSession, user: ConsoleUser) -> ConsoleUser:
    session.add(user)
    await session.flush()
    return user


# id, name, role, department_id, department_code, department_name, revoked_at
PersonPrincipalRow: TypeAlias = Row[int, str, str, int, str, str, datetime | None]


async def principal_of(session: AsyncSession, principal_id: int) -> PersonPrincipalRow | None:
    """A person's principal, with its department's code and name."""
    statement = (
        select(
            Principal.id,
            Principal.name,
            Principal.role,
            Principal.department_id,
            Department.code.label("department_code"),
            Department.name.label("department_name"),
            Principal.revoked_at,
        )
        .join(Department, Department.id == Principal.department_id)
        .where(Principal.id == principal_id)
    )
    return (await session.execute(statement)).first()


async def add_session(session: AsyncSession, row: ConsoleSession) -> None:
    session.add(row)
    await session.flush()


async def session_with_user(session: AsyncSession, id_hash: str) -> tuple[ConsoleSession, ConsoleUser] | None:
    statement = (
        select(ConsoleSession, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
        .where(ConsoleSession.id_hash == id_hash, ConsoleSession.ended_at.is_(None))
    )
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row is not None else None


async def end_sessions_of(session: AsyncSession, user_id: int, at: datetime) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=at)
    )


async def list_users(session: AsyncSession) -> list[tuple[ConsoleUser, str, str]]:
    statement = (
        select(ConsoleUser, Principal.name, Department.code)
        .join(Principal, Principal.id == ConsoleUser.principal_id)
        .join(Department, Department.id == Principal.department_id)
        .order_by(ConsoleUser.login)
    )
    return [(user, name, code) for user, name, code in (await session.execute(statement)).all()]
