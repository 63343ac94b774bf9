"""Applicants and their profile field values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Applicant, Department, ProfileFieldValue
from storage.repositories import driver

# Statements of the read path, built once (building a select costs as much client CPU as running it).
_APPLICANT_BY_ID_NUMBER = select(Applicant).where(Applicant.id_number == bindparam("id_number"))
_APPLICANTS = Applicant.metadata.tables[Applicant.__tablename__]


class ApplicantColumns(NamedTuple):
    """An applicant's own columns as values, read with Core (no entity) where values are all a read needs."""

    id: int
    kind: str
    id_number: str
    name: str
    created_at: datetime


APPLICANT_COLUMNS = tuple(_APPLICANTS.c[name] for name in ApplicantColumns._fields)
_COLUMNS_BY_ID_NUMBER = select(*APPLICANT_COLUMNS).where(_APPLICANTS.c.id_number == bindparam("id_number"))


async def applicant_columns_by_id_number(session: AsyncSession, id_number: str) -> ApplicantColumns | None:
    """The applicant's own columns as values, in one short read on the driver
    (storage/repositories/driver.py): the look-up every read of an applicant starts with."""
    rows = await driver.fetch_short(session, _COLUMNS_BY_ID_NUMBER, {"id_number": id_number})
    return ApplicantColumns(*rows[0]) if rows else None


async def applicant_by_id_number(
    session: AsyncSession, id_number: str, *, for_update: bool = False
) -> Applicant | None:
    statement = _APPLICANT_BY_ID_NUMBER.with_for_update() if for_update else _APPLICANT_BY_ID_NUMBER
    return (await session.execute(statement, {"id_number": id_number})).scalar_one_or_none()


async def applicants_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Applicant]:
    if not ids:
        return {}
    rows = await session.execute(select(Applicant).where(Applicant.id.in_(ids)))
    return {applicant.id: applicant for applicant in rows.scalars()}


async def add_applicant(
    session: AsyncSession, *, kind: str, id_number: str, name: str, department_id: int
) -> Applicant:
    applicant = Applicant(kind=kind, id_number=id_number, name=name, created_by_department_id=department_id)
    session.add(applicant)
    await session.flush()
    return applicant


async def search_applicants(
    session: AsyncSession,
    *,
    id_number: str | None,
    name: str | None,
    name_prefix: str | None,
    after: tuple[str, int] | None,
    limit: int,
) -> list[Applicant]:
    """Keyset page ordered by (name, id); `after` is the (name, id) of the last row seen."""
    statement = select(Applicant)
    if id_number is not None:
        statement = statement.where(Applicant.id_number == id_number)
    if name is not None:
        statement = statement.where(Applicant.name == name)
    if name_prefix is not None:
        escaped = name_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Applicant.name.like(escaped + "%", escape="\\"))
    if after is not None:
        after_name, after_id = after
        statement = statement.where(
            or_(Applicant.name > after_name, and_(Applicant.name == after_name, Applicant.id > after_id))
        )
    statement = statement.order_by(Applicant.name, Applicant.id).limit(limit)
    return list((await session.execute(statement)).scalars())


_FIELD_COLUMNS = (
    ProfileFieldValue.id,
    ProfileFieldValue.applicant_id,
    ProfileFieldValue.field,
    ProfileFieldValue.value,
    ProfileFieldValue.recorded_at,
    ProfileFieldValue.verified,
    ProfileFieldValue.is_current,
    Department.code.label("department_code"),
    Department.name.label("department_name"),
)


_CURRENT_FIELD_VALUES = (
    select(*_FIELD_COLUMNS)
    .join(Department, Department.id == ProfileFieldValue.source_department_id)
    .where(
        ProfileFieldValue.applicant_id.in_(bindparam("applicant_ids", expanding=True)),
        ProfileFieldValue.is_current.is_(True),
    )
    .order_by(ProfileFieldValue.applicant_id, ProfileFieldValue.field)
)


async def current_field_values(session: AsyncSession, applicant_ids: Sequence[int]) -> Sequence[Row[*tuple[Any, ...]]]:
    """Current values of all fields of these applicants, in one query."""
    if not applicant_ids:
        return []
    return (await session.execute(_CURRENT_FIELD_VALUES, {"applicant_ids": list(applicant_ids)})).all()


async def field_history(session: AsyncSession, applicant_id: int, field: str | None) -> Sequence[Row[*tuple[Any, ...]]]:
    statement = (
        select(*_FIELD_COLUMNS)
        .join(Department, Department.id == ProfileFieldValue.source_department_id)
        .where(ProfileFieldValue.applicant_id == applicant_id)
        .order_by(ProfileFieldValue.field, ProfileFieldValue.recorded_at.desc(), ProfileFieldValue.id.desc())
    )
    if field is not None:
        statement = statement.where(ProfileFieldValue.field == field)
    return (await session.execute(statement)).all()


async def current_value_of(session: AsyncSession, applicant_id: int, field: str) -> ProfileFieldValue | None:
    statement = select(ProfileFieldValue).where(
        ProfileFieldValue.applicant_id == applicant_id,
        ProfileFieldValue.field == field,
        ProfileFieldValue.is_current.is_(True),
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def add_field_value(session: AsyncSession, value: ProfileFieldValue) -> None:
    session.add(value)
    await session.flush()


async def clear_current(session: AsyncSession, applicant_id: int, field: str) -> None:
    await session.execute(
        update(ProfileFieldValue)
        .where(
            ProfileFieldValue.applicant_id == applicant_id,
            ProfileFieldValue.field == field,
            ProfileFieldValue.is_current.is_(True),
        )
        .values(is_current=False)
    )


async def has_applicants(session: AsyncSession) -> bool:
    return (await session.execute(select(Applicant.id).limit(1))).first() is not None


async def insert_applicants(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Bulk insert (one multi-row statement per batch); returns the new ids in the rows' order."""
    if not rows:
        return []
    statement = insert(Applicant).returning(Applicant.id, sort_by_parameter_order=True)
    return list((await session.execute(statement, list(rows))).scalars())


async def insert_field_values(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk insert of profile field values, provenance and `is_current` already decided."""
    if rows:
        await session.execute(insert(ProfileFieldValue), list(rows))
