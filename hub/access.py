"""The one place that checks and logs access to applicant data.

Every use case that touches applicant data calls `guard(...)` before it reads or writes: the policy
decides, an entry is recorded either way, and a denial raises `Forbidden`. Nothing else in the hub
writes access entries, and nothing reads applicant data without passing here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from hub import policy
from hub.errors import Forbidden
from storage.models.base import utcnow
from storage.repositories.audit import append_entries
from storage.repositories.principals import revoked_principal_by_token_hash

if TYPE_CHECKING:
    from hub.context import Hub, RequestContext


class Action(StrEnum):
    APPLICANT_REGISTER = "applicant.register"
    APPLICANT_LOOKUP = "applicant.lookup"
    APPLICANT_SEARCH = "applicant.search"
    PROFILE_READ = "profile.read"
    PROFILE_HISTORY = "profile.history"
    PROFILE_WRITE = "profile.write"
    MATERIAL_UPLOAD = "material.upload"
    MATERIAL_READ = "material.read"
    MATERIAL_DOWNLOAD = "material.download"
    MATERIAL_REVOKE = "material.revoke"
    MATERIAL_SUPERSEDE = "material.supersede"
    NOTICE_READ = "notice.read"
    CASE_OPEN = "case.open"
    CASE_READ = "case.read"
    CASE_ATTACH = "case.attach"
    CASE_ACCEPT = "case.accept"
    CASE_OPINION = "case.opinion"
    CASE_MINUTES = "case.minutes"
    CASE_COMPLETE = "case.complete"
    CASE_SEARCH = "case.search"
    AUDIT_SEARCH = "audit.search"
    AUDIT_STATISTICS = "audit.statistics"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_PROOF = "audit.proof"
    AUDIT_EXPORT = "audit.export"
    AUDIT_ACCESS_HISTORY = "audit.access_history"
    # A revoked token presented again: refused before any policy, logged against its principal.
    TOKEN_REFUSED = "auth.token_refused"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class PendingEntry:
    recorded_at: datetime
    action: Action
    outcome: Outcome
    applicant_ref: str
    object_ref: str
    fields: tuple[str, ...]
    material_types: tuple[str, ...]
    reason: str


class AccessRecorder:
    """Collects a request's access entries; `flush` queues them in one multi-row insert.

    Queueing is all the request path does: no lock, no sequence number, no signature. The
    sequencer (hub/audit/sequencer.py) numbers, hashes and signs them afterwards.
    """

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx
        self._pending: list[PendingEntry] = []

    def record(self, entry: PendingEntry) -> None:
        self._pending.append(entry)

    @property
    def pending(self) -> tuple[PendingEntry, ...]:
        return tuple(self._pending)

    async def flush(self, session: AsyncSession) -> None:
        if not self._pending:
            return
        ctx = self._ctx
        if ctx.hub.settings.audit_recording_disabled_for_benchmark:
            self._pending.clear()
            return
        caller = ctx.caller
        rows = [
            {
                "recorded_at": entry.recorded_at,
                "request_id": ctx.request_id,
                "client_address": ctx.client_address,
                "principal_id": caller.principal_id,
                "department_code": caller.department_code,
                "role": caller.role.value,
                "action": entry.action.value,
                "outcome": entry.outcome.value,
                "applicant_ref": entry.applicant_ref,
                "object_ref": entry.object_ref,
                "fields": ",".join(entry.fields),
                "material_types": ",".join(entry.material_types),
                "purpose": ctx.purpose or "",
                "reason": entry.reason,
            }
            for entry in self._pending
        ]
        await append_entries(session, rows)
        self._pending.clear()


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """What one access touches: the policy decides on this, the log records it."""

    action: Action
    applicant_refs: tuple[str, ...]
    fields: tuple[str, ...] = ()
    material_types: tuple[str, ...] = ()
    object_ref: str = ""


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
    from hub.auth import Caller, Role, hash_token, token_from_header
    from hub.context import RequestContext
    from hub.errors import Unauthenticated

    try:
        token = token_from_header(authorization)
    except Unauthenticated:
        return
    async with hub.sessions() as session:
        row = await revoked_principal_by_token_hash(session, hash_token(token))
        if row is None:
            return
        caller = Caller(row.id, row.name, Role(row.role), row.department_id, row.department_code, row.applicant_ref or "")
        ctx = RequestContext(hub, caller, session=session, client_address=client_address)
        ctx.access.record(
            PendingEntry(utcnow(), Action.TOKEN_REFUSED, Outcome.DENIED, "", "", (), (), "the token was revoked")
        )
        await ctx.commit()
