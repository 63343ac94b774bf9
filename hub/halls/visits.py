"""An applicant at the window (purpose "visit:<id>"): what a clerk reads their data under.

A clerk used to read any applicant's phone and address with no reason given. Now the applicant
presents their ID at the window and the clerk opens a visit: for `HUB_VISIT_MINUTES` that clerk may
read that applicant's profile and materials, declaring `visit:<id>`; nobody else may use the visit,
and nothing of other applicants is covered. Opening a visit is itself logged (`applicant.visit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.access.lookups import KnownVisit
from hub.access.policy import PurposeScope, register_purpose_resolver
from hub.identifiers import ApplicantKind, detect_kind
from hub.profiles.fields import allowed_fields
from storage.models import Visit
from storage.repositories import catalog as catalog_repo

KIND = "visit"


@dataclass(frozen=True, slots=True)
class OpenedVisit:
    id: int
    id_number: str
    expires_at: datetime

    @property
    def purpose(self) -> str:
        return f"{KIND}:{self.id}"


@all_or_nothing
async def open_visit(ctx: RequestContext, id_number: str) -> OpenedVisit:
    """The applicant presents their ID at the caller's window: open their data to this clerk for a while.

    The identifier's form is checked before the guard and nothing is looked up, so a visit tells
    nobody whether the applicant is registered (a new applicant is registered under it)."""
    _, canonical = detect_kind(id_number)
    await guard(ctx, Action.APPLICANT_VISIT, [canonical], object_ref="visit:new")
    now = ctx.hub.clock()
    visit = Visit(
        principal_id=ctx.caller.principal_id,
        id_number=canonical,
        opened_at=now,
        expires_at=now + timedelta(minutes=ctx.hub.settings.visit_minutes),
    )
    ctx.session.add(visit)
    await ctx.session.flush()
    await ctx.commit()
    return OpenedVisit(id=visit.id, id_number=canonical, expires_at=visit.expires_at)


async def visit_purpose_scope(ctx: RequestContext, ref: str) -> PurposeScope | None:
    """The clerk who opened the visit, before it expires: that applicant's whole profile and materials."""
    if ctx.caller.role is not Role.CLERK or not ref.isdigit():
        return None
    visit = await _known_visit(ctx, int(ref))
    if visit is None or visit.principal_id != ctx.caller.principal_id or ctx.hub.clock() >= visit.expires_at:
        return None
    kind, _ = detect_kind(visit.id_number)
    codes = await _material_type_codes(ctx)
    return PurposeScope(
        # "*" too: the applicant stands at the window, and the clerk may be shown all of it.
        profile_fields=allowed_fields(ApplicantKind(kind)) | {"*"},
        material_types=codes | {"*"},
        applicant_refs=frozenset({visit.id_number}),
    )


async def _known_visit(ctx: RequestContext, visit_id: int) -> KnownVisit | None:
    """The visit, from the process's memory once read: a visit never changes (hub/access/lookups.py)."""
    known = ctx.hub.lookups.visit(visit_id)
    if known is None:
        row = await ctx.session.get(Visit, visit_id)
        if row is None:
            return None
        known = KnownVisit(row.principal_id, row.id_number, row.expires_at)
        ctx.hub.lookups.remember_visit(visit_id, known)
    return known


async def _material_type_codes(ctx: RequestContext) -> frozenset[str]:
    codes = ctx.hub.lookups.material_type_codes()
    if codes is None:
        codes = await catalog_repo.material_type_codes(ctx.session)
        ctx.hub.lookups.remember_material_type_codes(codes)
    return codes


register_purpose_resolver(KIND, visit_purpose_scope)
