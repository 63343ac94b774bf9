"""The one place that checks and logs access to applicant data.

Every use case that touches applicant data calls `guard(...)` before it reads or writes: the policy
decides, an entry is recorded either way, and a denial raises `Forbidden`. Nothing else in the hub
writes access entries, and nothing reads applicant data without passing here.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.access import policy
from hub.access.actions import AccessRequest, Action, Outcome, PendingEntry
from hub.access.auth import Caller, Role, hash_token, token_from_header
from hub.access.context import Hub, RequestContext
from hub.errors import Forbidden, Unauthenticated
from storage.models.base import utcnow
from storage.repositories.principals import revoked_principal_by_token_hash


async def guard(
    ctx: RequestContext,
    action: Action,
    applicant_refs: Iterable[str] = ("",),
    *,
    fields: Iterable[str] = (),
    material_types: Iterable[str] = (),
    object_ref: str = "",
) -> None:
    """Decide, record one entry per applicant touched, and raise `Forbidden` if denied.

    `fields` are profile field names, `material_types` material type codes: names, never values.
    """
    request = AccessRequest(
        action,
        tuple(applicant_refs),
        tuple(sorted(set(fields))),
        tuple(sorted(set(material_types))),
        object_ref,
    )
    decision = await policy.decide(ctx, request)
    now = utcnow()
    outcome = Outcome.ALLOWED if decision.allowed else Outcome.DENIED
    for applicant_ref in request.applicant_refs:
        ctx.access.record(
            PendingEntry(
                now, action, outcome, applicant_ref, object_ref, request.fields, request.material_types, decision.reason
            )
        )
    if not decision.allowed:
        raise Forbidden(decision.reason, **decision.details)


async def record_refused_token(hub: Hub, authorization: str | None, *, client_address: str = "") -> None:
    """Log a request refused for a revoked token, against the principal who held it.

    Unknown tokens name nobody and are not logged; a revoked one shows who still tries to get in.
    """
    try:
        token = token_from_header(authorization)
    except Unauthenticated:
        return
    async with hub.sessions() as session:
        row = await revoked_principal_by_token_hash(session, hash_token(token))
        if row is None:
            return
        caller = Caller(
            row.id, row.name, Role(row.role), row.department_id, row.department_code, row.applicant_ref or ""
        )
        ctx = RequestContext(hub, caller, session=session, client_address=client_address)
        ctx.access.record(
            PendingEntry(utcnow(), Action.TOKEN_REFUSED, Outcome.DENIED, "", "", (), (), "the token was revoked")
        )
        await ctx.commit()
