"""Every action of hub/access/actions.py, for every role, with no purpose, with a clerk's visit and with
an unknown basis: which are allowed, and that every refusal is in the access log as denied.

The expected rights are written out here, apart from hub/access/policy.py, so a change of the policy
shows up as a change of this table."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.access.actions import Action
from hub.access.auth import SYSTEM_CALLER, Role
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.access.principals import create_principal
from hub.errors import Forbidden
from storage.models import AccessEntry
from tests.support import Actor, make_actor, visit_context

APPLICANT = "11010519491231002X"

# What touches applicant data and is neither a read of profile values nor of materials.
CLERK_WITHOUT_VISIT = {
    "applicant.register", "applicant.lookup", "applicant.search", "applicant.visit",
    "profile.write", "material.upload", "material.revoke", "material.supersede", "material.cancel",
    "case.open", "case.read", "case.attach", "case.accept", "case.opinion", "case.minutes",
    "case.pause", "case.complete", "case.collect", "case.withdraw", "case.search", "audit.access_history",
    "authorisation.read", "alert.explain",
}  # fmt: skip
# Within a visit: the applicant's profile values and materials as well, and the notice that names
# the materials on file.
CLERK_IN_VISIT = CLERK_WITHOUT_VISIT | {
    "profile.read", "profile.history", "material.read", "material.download", "notice.read",
}  # fmt: skip
# A department system's writes under any declared purpose (recorded); reads need a purpose of its own.
DEPARTMENT_WRITES = {
    "applicant.register", "profile.write", "material.upload", "material.cancel", "case.open", "case.attach",
    "case.accept", "case.opinion", "case.minutes", "case.pause", "case.complete", "case.collect", "case.withdraw",
    "alert.explain",
}  # fmt: skip
# 首席代表: a department (its system) or an administrator grants and withdraws authorisations, with or
# without a purpose (no applicant data); the use case holds each to its own department.
AUTHORISATIONS = {"authorisation.grant", "authorisation.withdraw", "authorisation.read"}
# A department system's own webhook endpoints, with or without a purpose (no applicant data).
WEBHOOKS = {"webhook.read", "webhook.write"}
AUDITOR = {
    "audit.search", "audit.statistics", "audit.checkpoint", "audit.proof", "audit.export", "audit.access_history",
    "authorisation.read",
    "alert.request_explanation", "alert.confirm", "alert.dismiss", "alert.close", "complaint.resolve",
}  # fmt: skip
APPLICANT_SELF = {"audit.access_history", "applicant.lookup", "profile.read"}

# (role, purpose) -> the actions allowed; purpose "visit" is a visit the clerk opened for APPLICANT.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("clerk", ""): CLERK_WITHOUT_VISIT,
    ("clerk", "visit"): CLERK_IN_VISIT,
    ("clerk", "basis:unknown"): CLERK_WITHOUT_VISIT,
    # The alert's department explains with no purpose (the use case checks the department).
    ("department_system", ""): AUTHORISATIONS | WEBHOOKS | {"alert.explain"},
    ("department_system", "basis:unknown"): DEPARTMENT_WRITES | AUTHORISATIONS | WEBHOOKS,
    ("auditor", ""): AUDITOR,
    ("auditor", "basis:unknown"): AUDITOR,
    ("admin", ""): AUTHORISATIONS,
    ("applicant", ""): APPLICANT_SELF,
    ("system", ""): {"case.abandon"},
}


async def _context(hub, role: str, purpose: str) -> RequestContext:
    if role == "system":
        return RequestContext(hub, SYSTEM_CALLER, purpose=purpose or None)
    if role == "applicant":
        async with hub.sessions() as session:
            issued = await create_principal(session, "张三本人", Role.APPLICANT, "xzfw", APPLICANT)
            await session.commit()
        return await Actor(hub, issued.token, Role.APPLICANT, "xzfw").context(purpose or None)
    actor = await make_actor(hub, Role(role), {"department_system": "sw", "auditor": "jcj"}.get(role, "xzfw"))
    if purpose == "visit":
        return await visit_context(actor, APPLICANT)
    return await actor.context(purpose or None)


@pytest.mark.parametrize(("role", "purpose"), sorted(EXPECTED))
async def test_every_action_for_every_role_and_purpose(hub, role: str, purpose: str) -> None:
    ctx = await _context(hub, role, purpose)
    allowed: set[str] = set()
    try:
        for action in Action:
            try:
                await guard(ctx, action, [APPLICANT], object_ref=f"matrix:{action.value}")
                allowed.add(action.value)
            except Forbidden:
                pass
        await ctx.commit()
    finally:
        await ctx.close()
    assert allowed == EXPECTED[role, purpose]

    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome).where(AccessEntry.object_ref.like("matrix:%"))
        )
        logged = dict(rows.all())
    assert logged == {a.value: ("allowed" if a.value in allowed else "denied") for a in Action}
