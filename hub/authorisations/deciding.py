"""Who may decide: a department system for its department, a clerk only under an authorisation in force.

A clerk's decision (an opinion, a result of their own department) needs an authorisation of their
department, not withdrawn, running on the hub's China date, that covers every item of the
department in the case. Without one the decision is refused with NOT_AUTHORISED, and the use case's
access entry says so (`refused`, with the code).
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.access.auth import Role
from hub.access.context import RequestContext
from hub.calendar.workdays import local_date
from hub.errors import NotAuthorised
from storage.models import Authorisation, Department
from storage.repositories import authorisations as repo


async def authority_to_decide(
    ctx: RequestContext, department: Department, item_codes: Sequence[str]
) -> Authorisation | None:
    """The authorisation a clerk decides these items of `department` under; None for a department system.

    Raises NotAuthorised for a clerk with none in force covering them all."""
    if ctx.caller.role is not Role.CLERK:
        return None
    needed = set(item_codes)
    day = local_date(ctx.hub.clock())
    candidates = await repo.in_force(ctx.session, ctx.caller.principal_id, department.id, day)
    for authorisation in candidates:
        if needed <= set(authorisation.item_codes.split(",")):
            return authorisation
    covered = {code for a in candidates for code in a.item_codes.split(",")}
    missing = sorted(needed - covered) or sorted(needed)
    raise NotAuthorised(
        f"a clerk decides for {department.name} only under an authorisation in force covering "
        f"{', '.join(missing)} (首席代表)",
        department=department.code,
        items=missing,
    )
