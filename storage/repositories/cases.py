"""Cases, their items, attachments, review tasks, opinions, minutes and results.

Every read takes a list of case ids and answers for all of them in one query, so a page of cases
costs a fixed number of queries however long it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import JSON, BigInteger, Select, and_, bindparam, func, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Applicant,
    CatalogVersion,
    Department,
    Material,
    MaterialType,
    MaterialVersion,
    ServiceItem,
    ServiceItemDepartment,
    ServiceItemMaterial,
)
from storage.models.cases import (
    AttachmentOrigin,
    Case,
    CaseItem,
    CaseMaterial,
    CaseResult,
    CaseStatus,
    JointReviewMinutes,
    Opinion,
    ReceiptCounter,
    ReviewPause,
    ReviewTask,
)
from storage.repositories import applicants as applicants_repo
from storage.repositories import calendar as calendar_repo
from storage.repositories import driver


async def next_receipt_sequence(session: AsyncSession, day: date) -> int:
    """Take the next sequence number of `day` atomically, whichever hub process asks.

    One upsert: the counter row stays locked until the caller's transaction ends, so two processes
    never hand out the same number, and a rolled-back case gives its number back.
    """
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert_(ReceiptCounter)
        .values(day=day, last_number=1)
        .on_conflict_do_update(
            index_elements=[ReceiptCounter.day], set_={"last_number": ReceiptCounter.last_number + 1}
        )
        .returning(ReceiptCounter.last_number)
    )
    return (await session.execute(statement)).scalar_one()


async def add_case(session: AsyncSession, case: Case, service_item_ids: Sequence[int]) -> Case:
    session.add(case)
    await session.flush()
    await session.execute(
        insert(CaseItem), [{"case_id": case.id, "service_item_id": item_id} for item_id in service_item_ids]
    )
    return case


async def case_by_receipt(session: AsyncSession, receipt_number: str, *, for_update: bool = False) -> Case | None:
    statement = select(Case).where(Case.receipt_number == receipt_number)
    if for_update:
        # Locked, the row is read afresh even if this session loaded it before the lock.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def cases_in_status_since(
    session: AsyncSession, status: str, before: datetime, *, by_completion: bool = False
) -> list[Case]:
    """Cases in `status` opened (or completed, `by_completion`) before `before`, oldest first."""
    moment = Case.completed_at if by_completion else Case.opened_at
    statement = select(Case).where(Case.status == status, moment < before).order_by(moment, Case.id)
    if by_completion:
        statement = statement.where(Case.results_collected_at.is_(None))
    return list((await session.execute(statement)).scalars())


async def close_cases(
    session: AsyncSession,
    case_ids: Sequence[int],
    *,
    from_status: str,
    to_status: str,
    when: datetime,
    reason: str,
    principal_id: int | None,
) -> list[int]:
    """Close the cases still in `from_status`; returns those this statement closed.

    The condition on the status makes the statement idempotent under concurrency: of two processes
    closing the same case, the second finds it closed already (PostgreSQL re-checks the row after
    the first one's lock; SQLite has one writer) and changes nothing.
    """
    if not case_ids:
        return []
    statement = (
        update(Case)
        .where(Case.id.in_(list(case_ids)), Case.status == from_status)
        .values(status=to_status, closed_at=when, close_reason=reason, closed_by_principal_id=principal_id)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(statement)).scalars())


# Statements of the read path, built once (building a select costs as much CPU as running it).
_ITEMS_OF_CASES = (
    select(CaseItem.case_id, ServiceItem)
    .join(ServiceItem, ServiceItem.id == CaseItem.service_item_id)
    .where(CaseItem.case_id.in_(bindparam("case_ids", expanding=True)))
    .order_by(ServiceItem.code)
)


async def items_of_cases(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[ServiceItem]]:
    result: dict[int, list[ServiceItem]] = defaultdict(list)
    if not case_ids:
        return result
    rows = await session.execute(_ITEMS_OF_CASES, {"case_ids": list(case_ids)})
    for case_id, item in rows:
        result[case_id].append(item)
    return result


_ITEMS_WITH_DEPARTMENTS_OF_CASES = (
    select(CaseItem.case_id, ServiceItem, Department)
    .join(ServiceItem, ServiceItem.id == CaseItem.service_item_id)
    .outerjoin(ServiceItemDepartment, ServiceItemDepartment.service_item_id == ServiceItem.id)
    .outerjoin(Department, Department.id == ServiceItemDepartment.department_id)
    .where(CaseItem.case_id.in_(bindparam("case_ids", expanding=True)))
    .order_by(CaseItem.case_id, ServiceItem.code, Department.code)
)


async def items_with_departments_of_cases(
    session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[tuple[ServiceItem, list[Department]]]]:
    """Per case, its items by code, each with its departments by code: one query for a list of cases."""
    result: dict[int, list[tuple[ServiceItem, list[Department]]]] = defaultdict(list)
    if not case_ids:
        return result
    for case_id, item, department in await session.execute(
        _ITEMS_WITH_DEPARTMENTS_OF_CASES, {"case_ids": list(case_ids)}
    ):
        per_case = result[case_id]
        if not per_case or per_case[-1][0] is not item:
            per_case.append((item, []))
        if department is not None:
            per_case[-1][1].append(department)
    return result


async def item_acceptances(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, dict[int, datetime | None]]:
    """Per case, when each of its items (by service item id) was accepted; None while pending."""
    result: dict[int, dict[int, datetime | None]] = defaultdict(dict)
    if not case_ids:
        return result
    rows = await session.execute(
        select(CaseItem.case_id, CaseItem.service_item_id, CaseItem.accepted_at).where(
            CaseItem.case_id.in_(list(case_ids))
        )
    )
    for case_id, item_id, accepted_at in rows:
        result[case_id][item_id] = accepted_at
    return result


async def accept_items(session: AsyncSession, case_id: int, service_item_ids: Sequence[int], when: datetime) -> None:
    await session.execute(
        update(CaseItem)
        .where(
            CaseItem.case_id == case_id,
            CaseItem.service_item_id.in_(list(service_item_ids)),
            CaseItem.accepted_at.is_(None),
        )
        .values(accepted_at=when)
        .execution_options(synchronize_session=False)
    )


_ITEMS_WITH_MATERIALS = (
    select(ServiceItem, MaterialType, ServiceItemMaterial.is_key)
    .outerjoin(ServiceItemMaterial, ServiceItemMaterial.service_item_id == ServiceItem.id)
    .outerjoin(MaterialType, MaterialType.id == ServiceItemMaterial.material_type_id)
    .where(
        ServiceItem.catalog_version_id == bindparam("version_id"),
        ServiceItem.code.in_(bindparam("codes", expanding=True)),
    )
    .order_by(ServiceItem.code, MaterialType.code)
)


async def items_with_materials(
    session: AsyncSession, catalog_version_id: int, codes: Sequence[str]
) -> tuple[list[ServiceItem], dict[int, list[tuple[MaterialType, bool]]]]:
    """Items of this catalogue version with these codes, and their required materials, in one query.

    Detached from the session, their columns loaded: a catalogue version never changes, so the
    caller may keep them beyond this session (a rollback would otherwise expire them)."""
    rows = await session.execute(_ITEMS_WITH_MATERIALS, {"version_id": catalog_version_id, "codes": list(codes)})
    items: dict[int, ServiceItem] = {}
    required: dict[int, list[tuple[MaterialType, bool]]] = {}
    material_types: dict[int, MaterialType] = {}
    for item, material_type, is_key in rows:
        items[item.id] = item
        required.setdefault(item.id, [])
        if material_type is not None:
            material_types[material_type.id] = material_type
            required[item.id].append((material_type, is_key))
    for entity in [*items.values(), *material_types.values()]:
        session.expunge(entity)
    return list(items.values()), required


async def case_ids_with_department(
    session: AsyncSession, case_ids: Sequence[int], department_id: int, *, through_review_tasks: bool = False
) -> set[int]:
    """Which of these cases the department takes part in: through any of their items, or a review task
    routed to it (three-level halls); with `through_review_tasks`, through a review task only."""
    if not case_ids:
        return set()
    tasks = select(ReviewTask.case_id).where(
        ReviewTask.case_id.in_(case_ids), ReviewTask.department_id == department_id
    )
    if through_review_tasks:
        return set((await session.execute(tasks)).scalars())
    rows = await session.execute(
        select(CaseItem.case_id)
        .join(ServiceItemDepartment, ServiceItemDepartment.service_item_id == CaseItem.service_item_id)
        .where(CaseItem.case_id.in_(case_ids), ServiceItemDepartment.department_id == department_id)
        .union(tasks)
    )
    return set(rows.scalars())


async def current_attachments(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[CaseMaterial]]:
    return await _by_case(
        session,
        case_ids,
        select(CaseMaterial)
        .where(CaseMaterial.case_id.in_(case_ids), CaseMaterial.superseded_at.is_(None))
        .order_by(CaseMaterial.id),
    )


async def uploaded_for_open_case(session: AsyncSession, material_id: int, window_department_id: int) -> bool:
    """Whether the material was handed in as a new upload at this department's window for a case
    still gathering materials, and is still attached there."""
    statement = (
        select(CaseMaterial.id)
        .join(Case, Case.id == CaseMaterial.case_id)
        .where(
            CaseMaterial.material_id == material_id,
            CaseMaterial.origin == AttachmentOrigin.UPLOADED.value,
            CaseMaterial.superseded_at.is_(None),
            Case.status == CaseStatus.OPEN.value,
            Case.window_department_id == window_department_id,
        )
        .limit(1)
    )
    return (await session.execute(statement)).first() is not None


async def handed_in_times(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[datetime]]:
    """When materials were handed in to each case (superseded attachments included, promises not)."""
    result: dict[int, list[datetime]] = defaultdict(list)
    if not case_ids:
        return result
    rows = await session.execute(
        select(CaseMaterial.case_id, CaseMaterial.attached_at)
        .where(CaseMaterial.case_id.in_(case_ids), CaseMaterial.origin != AttachmentOrigin.PROMISED.value)
        .order_by(CaseMaterial.attached_at)
    )
    for case_id, attached_at in rows:
        result[case_id].append(attached_at)
    return result


async def supersede_attachment(session: AsyncSession, case_id: int, material_type_id: int, when: datetime) -> None:
    await session.execute(
        update(CaseMaterial)
        .where(
            CaseMaterial.case_id == case_id,
            CaseMaterial.material_type_id == material_type_id,
            CaseMaterial.superseded_at.is_(None),
        )
        .values(superseded_at=when)
    )


async def add_attachment(session: AsyncSession, attachment: CaseMaterial) -> CaseMaterial:
    session.add(attachment)
    await session.flush()
    return attachment


async def versions_with_materials(
    session: AsyncSession, version_ids: Sequence[int]
) -> dict[int, tuple[MaterialVersion, Material]]:
    if not version_ids:
        return {}
    rows = await session.execute(
        select(MaterialVersion, Material)
        .join(Material, Material.id == MaterialVersion.material_id)
        .where(MaterialVersion.id.in_(version_ids))
    )
    return {version.id: (version, material) for version, material in rows}


class NoticeReads(NamedTuple):
    """What the one-time notice reads before it decides: the current catalogue version, the
    calendar's notices in force and the applicant named (None: none named, or no such applicant)."""

    catalog_version_id: int | None
    notices_in_force: list[calendar_repo.NoticeInForce]
    applicant: applicants_repo.ApplicantColumns | None


# NoticeReads in one statement, read on every notice: one row per notice in force (one with
# nulls for the notice when none is loaded), each with the version and the applicant's columns.
_NOTICES = calendar_repo.IN_FORCE.subquery()
_ONE = select(literal(1).label("one")).subquery()
_APPLICANTS = Applicant.metadata.tables[Applicant.__tablename__]
_NOTICE_READS = (
    select(
        select(func.max(CatalogVersion.id)).scalar_subquery(),
        *applicants_repo.APPLICANT_COLUMNS,
        _NOTICES.c.id,
        _NOTICES.c.year,
        _NOTICES.c.version,
        _NOTICES.c.reference,
        _NOTICES.c.digest,
    )
    .select_from(
        _ONE.outerjoin(_APPLICANTS, _APPLICANTS.c.id_number == bindparam("id_number")).outerjoin(_NOTICES, true())
    )
    .order_by(_NOTICES.c.year)
)
_APPLICANT_END = 1 + len(applicants_repo.APPLICANT_COLUMNS)


async def notice_reads(session: AsyncSession, applicant_id_number: str | None) -> NoticeReads:
    """`catalog.current_version_id`, `calendar.notices_in_force` and the applicant's columns by
    identifier (canonical), in one round trip."""
    # On the driver directly (storage/repositories/driver.py): numbers, text, a UTC timestamp.
    rows = await driver.fetch_short(session, _NOTICE_READS, {"id_number": applicant_id_number})
    first = rows[0]
    return NoticeReads(
        first[0],
        [calendar_repo.NoticeInForce(*row[_APPLICANT_END:]) for row in rows if row[_APPLICANT_END] is not None],
        None if first[1] is None else applicants_repo.ApplicantColumns(*first[1:_APPLICANT_END]),
    )


class HeldMaterial(NamedTuple):
    """What the notice needs of one material on file and its current version: values, no entity."""

    material_id: int
    material_type_id: int
    title: str
    valid_until: date | None
    status: str
    cancel_reason: str | None
    version_id: int
    version_no: int
    file_name: str


_MATERIALS = Material.metadata.tables[Material.__tablename__]
_VERSIONS = MaterialVersion.metadata.tables[MaterialVersion.__tablename__]
# Built once; Core on the tables, not the ORM's entities: the notice reads values only, and an
# applicant may hold many materials.
_HELD_OF_APPLICANT = (
    select(
        _MATERIALS.c.id,
        _MATERIALS.c.material_type_id,
        _MATERIALS.c.title,
        _MATERIALS.c.valid_until,
        _MATERIALS.c.status,
        _MATERIALS.c.cancel_reason,
        _VERSIONS.c.id,
        _VERSIONS.c.version_no,
        _VERSIONS.c.file_name,
    )
    .join(_VERSIONS, and_(_VERSIONS.c.material_id == _MATERIALS.c.id, _VERSIONS.c.superseded_at.is_(None)))
    .where(_MATERIALS.c.applicant_id == bindparam("applicant_id"), _MATERIALS.c.status != "superseded")
    .order_by(_MATERIALS.c.id)
)
# The types as one parameter, not an expanding IN (which renders its dozens of parameters again on
# every request, a quarter of the statement's client CPU for a notice of 24 types): an array on
# PostgreSQL (`= ANY`), a JSON array on SQLite (`json_each`), where a statement of fixed text runs
# in one hop to aiosqlite's thread (storage/repositories/driver.py).
_SQLITE_TYPE_IDS = func.json_each(bindparam("type_ids", type_=JSON)).table_valued("value")
_HELD = {
    "postgresql": _HELD_OF_APPLICANT.where(
        _MATERIALS.c.material_type_id == func.any(bindparam("type_ids", type_=postgresql.ARRAY(BigInteger)))
    ),
    "sqlite": _HELD_OF_APPLICANT.where(_MATERIALS.c.material_type_id.in_(select(_SQLITE_TYPE_IDS.c.value))),
}


async def materials_on_file(
    session: AsyncSession, applicant_id: int, material_type_ids: Sequence[int]
) -> list[HeldMaterial]:
    """The applicant's materials of these types with their current version (superseded ones left out)."""
    if not material_type_ids:
        return []
    parameters = {"applicant_id": applicant_id, "type_ids": list(material_type_ids)}
    # On the driver directly (storage/repositories/driver.py): ids, text and dates.
    held = await driver.fetch_short(session, _HELD[session.get_bind().dialect.name], parameters)
    return [HeldMaterial(*row) for row in held]


# Reviews.


async def add_review_tasks(
    session: AsyncSession, case_id: int, routes: Sequence[tuple[int, int | None, int | None]], when: datetime
) -> None:
    """One task per (department, deciding centre, catalogue department it was routed from)."""
    if not routes:
        return
    await session.execute(
        insert(ReviewTask),
        [
            {
                "case_id": case_id,
                "department_id": department_id,
                "assigned_at": when,
                "centre_id": centre_id,
                "routed_from_department_id": routed_from,
            }
            for department_id, centre_id, routed_from in routes
        ],
    )


async def review_tasks(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[ReviewTask]]:
    return await _by_case(
        session, case_ids, select(ReviewTask).where(ReviewTask.case_id.in_(case_ids)).order_by(ReviewTask.department_id)
    )


async def opinions(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[Opinion]]:
    """Every opinion of these cases, oldest revision first per department."""
    return await _by_case(
        session,
        case_ids,
        select(Opinion).where(Opinion.case_id.in_(case_ids)).order_by(Opinion.department_id, Opinion.revision),
    )


async def add_opinion(session: AsyncSession, opinion: Opinion) -> Opinion:
    session.add(opinion)
    await session.flush()
    return opinion


async def pauses(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[ReviewPause]]:
    return await _by_case(
        session,
        case_ids,
        select(ReviewPause).where(ReviewPause.case_id.in_(case_ids)).order_by(ReviewPause.started_at, ReviewPause.id),
    )


async def add_pause(session: AsyncSession, pause: ReviewPause) -> ReviewPause:
    session.add(pause)
    await session.flush()
    return pause


async def add_minutes(session: AsyncSession, minutes: JointReviewMinutes) -> JointReviewMinutes:
    session.add(minutes)
    await session.flush()
    return minutes


async def minutes_of_cases(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[JointReviewMinutes]]:
    return await _by_case(
        session,
        case_ids,
        select(JointReviewMinutes).where(JointReviewMinutes.case_id.in_(case_ids)).order_by(JointReviewMinutes.id),
    )


# Results and prior submissions.


async def add_results(session: AsyncSession, case_id: int, versions: Sequence[tuple[int, int]]) -> None:
    if versions:
        await session.execute(
            insert(CaseResult),
            [{"case_id": case_id, "material_id": m, "material_version_id": v} for m, v in versions],
        )


async def results_of_cases(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[CaseResult]]:
    return await _by_case(
        session, case_ids, select(CaseResult).where(CaseResult.case_id.in_(case_ids)).order_by(CaseResult.material_id)
    )


async def departments_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Department]:
    if not ids:
        return {}
    rows = await session.execute(select(Department).where(Department.id.in_(set(ids))))
    return {department.id: department for department in rows.scalars()}


async def applicants_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Applicant]:
    if not ids:
        return {}
    rows = await session.execute(select(Applicant).where(Applicant.id.in_(set(ids))))
    return {applicant.id: applicant for applicant in rows.scalars()}


async def cases_of_applicants(
    session: AsyncSession,
    applicant_ids: Sequence[int],
    *,
    status: str | None = None,
    text: str | None = None,
    opened_from: datetime | None = None,
    opened_before: datetime | None = None,
    department_id: int | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int | None = None,
) -> list[Case]:
    """Cases of the applicants, per applicant newest first, keyset-paginated by (opened_at, id).

    `limit` applies to each applicant: the first page of every applicant's cases in one query.

    `text` matches the receipt number, the window, or the code or name of an item or of a material
    type handed in. `department_id` keeps the cases that department takes part in.
    """
    if not applicant_ids:
        return []
    statement = select(Case).where(Case.applicant_id.in_(applicant_ids))
    if status is not None:
        statement = statement.where(Case.status == status)
    if opened_from is not None:
        statement = statement.where(Case.opened_at >= opened_from)
    if opened_before is not None:
        statement = statement.where(Case.opened_at < opened_before)
    if text:
        pattern = f"%{_escape_like(text)}%"
        matching_items = (
            select(CaseItem.case_id)
            .join(ServiceItem, ServiceItem.id == CaseItem.service_item_id)
            .where(or_(ServiceItem.code.like(pattern, escape="\\"), ServiceItem.name.like(pattern, escape="\\")))
        )
        matching_materials = (
            select(CaseMaterial.case_id)
            .join(MaterialType, MaterialType.id == CaseMaterial.material_type_id)
            .where(or_(MaterialType.code.like(pattern, escape="\\"), MaterialType.name.like(pattern, escape="\\")))
        )
        statement = statement.where(
            or_(
                Case.receipt_number.like(pattern, escape="\\"),
                Case.window.like(pattern, escape="\\"),
                Case.id.in_(matching_items),
                Case.id.in_(matching_materials),
            )
        )
    if department_id is not None:
        statement = statement.where(Case.id.in_(_cases_with_department(department_id)))
    if after is not None:
        opened_at, case_id = after
        statement = statement.where(
            or_(Case.opened_at < opened_at, and_(Case.opened_at == opened_at, Case.id < case_id))
        )
    if limit is None:
        statement = statement.order_by(Case.applicant_id, Case.opened_at.desc(), Case.id.desc())
        return list((await session.execute(statement)).scalars())
    rows = await session.execute(_newest_per_applicant(statement, limit))
    return list(rows.scalars())


def _cases_with_department(department_id: object) -> Select[int]:
    """Ids of the cases a department takes part in (through the items' departments)."""
    return (
        select(CaseItem.case_id)
        .join(ServiceItemDepartment, ServiceItemDepartment.service_item_id == CaseItem.service_item_id)
        .where(ServiceItemDepartment.department_id == department_id)
    )


def _newest_per_applicant(statement: Select[Case], limit: object) -> Select[Case]:
    """The newest `limit` cases of each applicant, for any number of applicants, in one query."""
    rank = func.row_number().over(partition_by=Case.applicant_id, order_by=(Case.opened_at.desc(), Case.id.desc()))
    ranked = statement.add_columns(rank.label("rank")).subquery()
    case = aliased(Case, ranked)
    return select(case).where(ranked.c.rank <= limit).order_by(case.applicant_id, case.opened_at.desc(), case.id.desc())


def _latest_cases_statement(by_status: bool, by_department: bool) -> Select[Case]:
    statement = select(Case).where(Case.applicant_id.in_(bindparam("applicant_ids", expanding=True)))
    if by_status:
        statement = statement.where(Case.status == bindparam("status"))
    if by_department:
        statement = statement.where(Case.id.in_(_cases_with_department(bindparam("department_id"))))
    return _newest_per_applicant(statement, bindparam("limit"))


# Built once: building this windowed select costs several times more CPU than running it.
_LATEST_CASES = {
    (by_status, by_department): _latest_cases_statement(by_status, by_department)
    for by_status in (False, True)
    for by_department in (False, True)
}


async def latest_cases_of_applicants(
    session: AsyncSession,
    applicant_ids: Sequence[int],
    *,
    limit: int,
    status: str | None = None,
    department_id: int | None = None,
) -> list[Case]:
    """The newest `limit` cases of each applicant (of those a department takes part in, if given)."""
    if not applicant_ids:
        return []
    statement = _LATEST_CASES[status is not None, department_id is not None]
    parameters: dict[str, object] = {"applicant_ids": list(applicant_ids), "limit": limit}
    if status is not None:
        parameters["status"] = status
    if department_id is not None:
        parameters["department_id"] = department_id
    return list((await session.execute(statement, parameters)).scalars())


async def reuse_counts(session: AsyncSession, case_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Current attachments by origin (reused / uploaded / promised), for some cases or all."""
    statement = select(CaseMaterial.origin, func.count()).where(CaseMaterial.superseded_at.is_(None))
    if case_ids is not None:
        statement = statement.where(CaseMaterial.case_id.in_(case_ids))
    rows = await session.execute(statement.group_by(CaseMaterial.origin))
    return dict(rows.all())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A department's inbox.


async def cases_under_review_by(session: AsyncSession, department_id: int, limit: int) -> list[Case]:
    """Accepted cases distributed to the department (a review task), most recently accepted last."""
    rows = await session.execute(
        select(Case)
        .join(ReviewTask, ReviewTask.case_id == Case.id)
        .where(ReviewTask.department_id == department_id, Case.status == CaseStatus.ACCEPTED.value)
        .order_by(ReviewTask.assigned_at, Case.id)
        .limit(limit)
    )
    return list(rows.scalars())


OfCase = TypeVar("OfCase", CaseMaterial, ReviewTask, Opinion, ReviewPause, JointReviewMinutes, CaseResult)


async def _by_case(
    session: AsyncSession, case_ids: Sequence[int], statement: Select[OfCase]
) -> dict[int, list[OfCase]]:
    """The rows a statement selects for these cases, grouped by case in the statement's order; no
    query at all for no cases."""
    result: dict[int, list[OfCase]] = defaultdict(list)
    if not case_ids:
        return result
    for row in (await session.execute(statement)).scalars():
        result[row.case_id].append(row)
    return result
