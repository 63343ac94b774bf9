"""The authorisation document: grant, withdraw, read (docs/cases.md, "Chief representatives").

A department authorises one of its own clerks to accept and decide listed items on the spot, from a
date until a date (China dates, both included). Only the department's own system, or an
administrator, grants and withdraws; a department authorises only for items it takes part in in the
current catalogue. An authorisation is never edited nor deleted: it is withdrawn, with a reason, and
decisions taken under it keep pointing at it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.calendar.workdays import local_date
from hub.errors import AuthorisationWithdrawn, InvalidInput, NotFound, OutsideOwnDepartment, UnknownServiceItem
from storage.models import Authorisation, Department, Principal
from storage.repositories import authorisations as repo
from storage.repositories import catalog as catalog_repo
from storage.repositories import principals as principals_repo

MAX_ITEMS = 50
MAX_REASON = 2000
# Roles that see every department's authorisations: administrators and the supervision office.
SEES_ALL = (Role.ADMIN, Role.AUDITOR)


@dataclass(frozen=True, slots=True)
class AuthorisationView:
    row: Authorisation
    department: Department
    clerk: Principal
    granted_by: Principal
    withdrawn_by: Principal | None

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(code for code in self.row.item_codes.split(",") if code)

    def in_force_on(self, day: date) -> bool:
        return self.row.withdrawn_at is None and self.row.valid_from <= day <= self.row.valid_until


async def authorisation_views(ctx: RequestContext, ids: Sequence[int]) -> dict[int, AuthorisationView]:
    """These authorisations with their department and principals, by id, in one query (none for no id)."""
    if not ids:
        return {}
    return {row[0].id: AuthorisationView(*row) for row in await repo.authorisations(ctx.session, ids=ids)}


@all_or_nothing
async def authorise(
    ctx: RequestContext, clerk_id: int, item_codes: Sequence[str], until: date, *, valid_from: date | None = None
) -> AuthorisationView:
    """授权到位: the clerk's department authorises them to decide these items from `valid_from` (today)
    until `until`."""
    await guard(ctx, Action.AUTHORISATION_GRANT, object_ref=f"clerk:{clerk_id}")
    clerk = await repo.principal_by_id(ctx.session, clerk_id)
    if clerk is None:
        raise NotFound("no principal with this id", field="clerk")
    if clerk.role != Role.CLERK.value or clerk.revoked_at is not None:
        raise InvalidInput("a chief representative is an active clerk principal", field="clerk")
    _own_department(ctx, clerk.department_id, "a department authorises only its own clerks", "clerk")
    today = local_date(ctx.hub.clock())
    starts = valid_from or today
    if starts < today:
        raise InvalidInput("an authorisation cannot start in the past", field="validFrom")
    if until < starts:
        raise InvalidInput("an authorisation runs until a date on or after its start", field="until")
    codes = sorted({code.strip() for code in item_codes if code.strip()})
    if not codes or len(codes) > MAX_ITEMS:
        raise InvalidInput(f"name 1 to {MAX_ITEMS} service items", field="items")
    await _check_items(ctx, clerk.department_id, codes)
    row = await repo.add_authorisation(
        ctx.session,
        Authorisation(
            department_id=clerk.department_id,
            clerk_principal_id=clerk.id,
            item_codes=",".join(codes),
            valid_from=starts,
            valid_until=until,
            granted_by_principal_id=ctx.caller.principal_id,
            granted_at=ctx.hub.clock(),
        ),
    )
    await ctx.commit()
    return (await authorisation_views(ctx, [row.id]))[row.id]


@all_or_nothing
async def withdraw(ctx: RequestContext, authorisation_id: int, reason: str) -> AuthorisationView:
    """The department withdraws the authorisation: from now on the clerk decides nothing under it."""
    await guard(ctx, Action.AUTHORISATION_WITHDRAW, object_ref=f"authorisation:{authorisation_id}")
    row = await repo.authorisation_by_id(ctx.session, authorisation_id, for_update=True)
    if row is None:
        raise NotFound("no authorisation with this id", field="id")
    _own_department(ctx, row.department_id, "a department withdraws only its own authorisations", "id")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"say why (1 to {MAX_REASON} characters)", field="reason")
    if row.withdrawn_at is not None:
        raise AuthorisationWithdrawn(
            "this authorisation is withdrawn already", withdrawnAt=row.withdrawn_at.isoformat()
        )
    row.withdrawn_at = ctx.hub.clock()
    row.withdrawn_by_principal_id = ctx.caller.principal_id
    row.withdraw_reason = reason
    await ctx.commit()
    return (await authorisation_views(ctx, [row.id]))[row.id]


@all_or_nothing
async def authorisations(
    ctx: RequestContext, *, department_code: str | None = None, clerk_id: int | None = None
) -> list[AuthorisationView]:
    """Authorisations of a department or of a clerk, newest first. A clerk reads their own (the
    default for a clerk); a department its own (the default for a department system)."""
    caller = ctx.caller
    filters = [f"department:{department_code}" if department_code else "", f"clerk:{clerk_id}" if clerk_id else ""]
    await guard(ctx, Action.AUTHORISATION_READ, object_ref="authorisations:" + "+".join(f for f in filters if f))
    department_id = None
    if department_code is not None:
        department = await principals_repo.department_by_code(ctx.session, department_code.strip())
        if department is None:
            raise NotFound("no department with this code", field="department")
        department_id = department.id
    if caller.role is Role.CLERK:
        if clerk_id not in (None, caller.principal_id) or department_id not in (None, caller.department_id):
            raise OutsideOwnDepartment("a clerk reads only their own authorisations", field="clerk")
        clerk_id = caller.principal_id
    elif caller.role not in SEES_ALL:
        _own_department(ctx, department_id or caller.department_id, "a department reads its own", "department")
        department_id = caller.department_id
    rows = await repo.authorisations(ctx.session, department_id=department_id, clerk_principal_id=clerk_id)
    return [AuthorisationView(*row) for row in rows]


def _own_department(ctx: RequestContext, department_id: int, why: str, field: str) -> None:
    """Anyone but an administrator acts for their own department only."""
    if ctx.caller.role is not Role.ADMIN and department_id != ctx.caller.department_id:
        raise OutsideOwnDepartment(why, field=field, department=ctx.caller.department_code)


async def _check_items(ctx: RequestContext, department_id: int, codes: list[str]) -> None:
    version_id = await catalog_repo.current_version_id(ctx.session)
    known = (
        {i.code for i in await catalog_repo.service_items(ctx.session, version_id, codes=codes)}
        if version_id
        else set()
    )
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise UnknownServiceItem(f"no current service item {', '.join(unknown)}", field="items", codes=unknown)
    own = await repo.item_codes_of_department(ctx.session, version_id or 0, department_id)
    others = [code for code in codes if code not in own]
    if others:
        raise OutsideOwnDepartment(f"the department takes no part in {', '.join(others)}", field="items", codes=others)


def in_force_today(ctx: RequestContext, view: AuthorisationView) -> bool:
    return view.in_force_on(local_date(ctx.hub.clock()))
