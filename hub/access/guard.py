"""The one place that checks and logs access to applicant data.

Every use case that touches applicant data calls `guard(...)` before it reads or writes: the policy
decides, an entry is recorded either way, and a denial raises `Forbidden`. Nothing else in the hub
writes access entries, and nothing reads applicant data without passing here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.access import policy
from hub.access.actions import AccessRequest, Action, Outcome, PendingEntry
from hub.access.auth import NOBODY, Caller, Role, hash_token
from hub.access.context import Hub, RequestContext
from hub.access.purposes import canonical_purpose, escaped_for_log, purpose_from_header
from hub.errors import Forbidden, InvalidPurpose, RateLimited, Unauthenticated
from storage.models.base import utcnow
from storage.repositories.principals import holder_of_token_hash

# Hex digits of a refused token's SHA-256 kept in the log: enough to tell attempts with one token
# from attempts with many, far too few to stand for the token.
TOKEN_HASH_PREFIX = 12


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
    _record(ctx, request, Outcome.ALLOWED if decision.allowed else Outcome.DENIED, decision.reason, utcnow())
    if not decision.allowed:
        raise Forbidden(decision.reason, **decision.details)


async def record_refused_token(hub: Hub, authorization: str | None, *, client_address: str = "") -> None:
    """Log a request refused for its token: revoked, rotated out, unknown or malformed alike.

    Every refused token costs the same work (one look-up by hash, one insert, one commit), so the
    time of the answer does not tell a revoked token from one that never existed. A revoked or
    rotated-out token's entry names the principal who held it; any other names nobody. Every entry
    carries a prefix of the token's SHA-256 hash, never the token. A request with no token at all
    presents nothing to log.
    """
    presented = (authorization or "").strip()
    if not presented:
        return
    # The credential after the scheme; a header without one is hashed whole, as authenticate does.
    token = presented.partition(" ")[2].strip() or presented
    token_hash = hash_token(token)
    async with hub.sessions() as session:
        row = await holder_of_token_hash(session, token_hash)
        caller, why = NOBODY, "the token is unknown or malformed"
        if row is not None:
            caller = Caller(
                row.id, row.name, Role(row.role), row.department_id, row.department_code, row.applicant_ref or ""
            )
            if row.rotated_out:
                why = "the token was rotated out"
            elif row.revoked_at is not None:
                why = "the token was revoked"
            else:  # made active again by a concurrent change: refused all the same
                why = "the token was refused"
        ctx = RequestContext(hub, caller, session=session, client_address=client_address)
        ctx.access.record(
            PendingEntry(
                utcnow(),
                Action.TOKEN_REFUSED,
                Outcome.REFUSED,
                "",
                f"token:{token_hash[:TOKEN_HASH_PREFIX]}",
                (),
                (),
                f"{Unauthenticated.code}: {why}",
            )
        )
        await ctx.commit()


async def charge(ctx: RequestContext, cost: int) -> None:
    """Spend `cost` points of the caller's budget (hub/access/budgets.py), or refuse the request.

    The refusal is logged like any other (`auth.rate_limited`, outcome refused, object `cost:<points>`)
    and raises `RateLimited` with the seconds after which the budget could pay."""
    refusal = ctx.hub.cost_budgets.spend(ctx.caller.principal_id, cost)
    if refusal is None:
        return
    error = RateLimited(
        f"this request costs {cost} points and {refusal.remaining} are left of the caller's budget"
        f" ({ctx.hub.cost_budgets.points_per_second:g} points a second); retry after"
        f" {refusal.retry_after_seconds} s",
        cost=cost,
        remaining=refusal.remaining,
        retryAfter=refusal.retry_after_seconds,
    )
    ctx.access.record(
        PendingEntry(
            utcnow(), Action.RATE_LIMITED, Outcome.REFUSED, "", f"cost:{cost}", (), (), f"{error.code}: {cost} points"
        )
    )
    # The entry is all this request writes: it joins the reads' batch (hub/access/_group_commit.py).
    ctx.read_only = True
    await ctx.commit()
    raise error


async def declare_purpose(ctx: RequestContext, declared: bytes | str | None) -> None:
    """Set the request's purpose from the `X-Hub-Purpose` header (bytes) or a command's option.

    A purpose outside the grammar (hub/access/purposes.py) is refused before any policy: the
    refusal is logged with the raw value escaped and cut short, then `InvalidPurpose` is raised.
    """
    try:
        ctx.purpose = purpose_from_header(declared) if isinstance(declared, bytes) else canonical_purpose(declared)
    except InvalidPurpose as error:
        ctx.purpose = None
        ctx.access.record(
            PendingEntry(
                utcnow(),
                Action.PURPOSE_REFUSED,
                Outcome.REFUSED,
                "",
                "",
                (),
                (),
                f"{error.code}: {escaped_for_log(declared or '')}",
            )
        )
        await ctx.commit()
        raise


async def allows_all(ctx: RequestContext, requests: Iterable[AccessRequest]) -> bool:
    """Whether the policy allows every one of `requests`, recording nothing.

    For a compiled read (hub/compiled/reads.py), which decides its whole plan before it reads: if
    all is allowed it reads, then records with `record_allowed`; if not, it hands the request to
    the use cases, which guard (and record) as always, so a denial reads as it always has."""
    for request in requests:
        if not (await policy.decide(ctx, request)).allowed:
            return False
    return True


def record_allowed(ctx: RequestContext, requests: Iterable[AccessRequest]) -> None:
    """Record the entries `guard` records for `requests` when the policy allows them."""
    now = utcnow()
    for request in requests:
        _record(ctx, request, Outcome.ALLOWED, "", now)


def _record(ctx: RequestContext, request: AccessRequest, outcome: Outcome, reason: str, now: datetime) -> None:
    """One entry per applicant the access touches."""
    for applicant_ref in request.applicant_refs:
        ctx.access.record(
            PendingEntry(
                now,
                request.action,
                outcome,
                applicant_ref,
                request.object_ref,
                request.fields,
                request.material_types,
                reason,
            )
        )
