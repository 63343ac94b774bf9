"""The "supervision" purpose: what the supervision office reads of a case (purpose "supervision:<ref>").

电子监察 watches the course of every case: its states, times, departments and decisions. An auditor
of the supervision office declares `supervision:<ref>` (the inspection, warning or complaint it
works on, recorded in every entry) and reads any case's course under it, but no profile value and
no material type: the scope names none, so a read that would touch them is denied and logged.
"""

from __future__ import annotations

from hub.access.auth import Role
from hub.access.context import RequestContext
from hub.access.policy import PurposeScope, register_purpose_resolver
from storage.repositories import supervision as repo

KIND = "supervision"


async def supervision_scope(ctx: RequestContext, ref: str) -> PurposeScope | None:
    if ctx.caller.role is not Role.AUDITOR:
        return None
    department = await repo.department(ctx.session, ctx.caller.department_id)
    if department is None or not department.is_supervision:
        return None
    return PurposeScope(profile_fields=frozenset(), material_types=frozenset())


register_purpose_resolver(KIND, supervision_scope)
