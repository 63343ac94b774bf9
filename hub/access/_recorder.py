"""A request's access entries, collected as the guard decides and written with the request's commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.actions import PendingEntry
from storage.repositories.audit import append_entries

if TYPE_CHECKING:
    from hub.access.context import RequestContext


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
