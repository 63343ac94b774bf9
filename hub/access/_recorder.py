"""A request's access entries, collected as the guard decides and written with the request's commit."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.actions import Outcome, PendingEntry
from hub.access.auth import NOBODY
from hub.errors import AccessLogUnavailable
from hub.metrics import ACCESS_LOG_FAILURES
from storage.models import AccessEntry
from storage.repositories.audit import append_entries

if TYPE_CHECKING:
    from hub.access.context import RequestContext

logger = logging.getLogger("hub.access")

# The entries recorded by the use case running in this task (None outside one). A context variable,
# not a field of the recorder: the fields of one GraphQL query run as concurrent tasks sharing one
# request, and a refusal must reach only the entries of the use case that was refused.
_attempt: ContextVar[list[PendingEntry] | None] = ContextVar("hub_access_attempt", default=None)


class AccessRecorder:
    """Collects a request's access entries; `flush` queues them in one multi-row insert.

    Queueing is all the request path does: no lock, no sequence number, no signature. The
    sequencer (hub/audit/sequencer.py) numbers, hashes and signs them afterwards.
    """

    def __init__(self) -> None:
        # No reference back to the request's context (it is passed to `flush`): a cycle between
        # them left every request's context, session and look-ups, about 18 objects, to the cyclic
        # garbage collector instead of freeing them as the request ended (docs/performance.md).
        self._pending: list[PendingEntry] = []

    def record(self, entry: PendingEntry) -> None:
        self._pending.append(entry)
        attempt = _attempt.get()
        if attempt is not None:
            attempt.append(entry)

    @property
    def pending(self) -> tuple[PendingEntry, ...]:
        return tuple(self._pending)

    def mark(self) -> int:
        """Where the entries recorded from now on start, for `discard_since`."""
        return len(self._pending)

    def discard_since(self, mark: int) -> None:
        """Forget the entries recorded since `mark`. Only for a compiled document's attempt
        (hub/compiled/notice.py) that hands the request to the resolvers: they run the same use
        case again and record the same entries, so each access is logged once, by them."""
        del self._pending[mark:]

    @contextmanager
    def attempt(self) -> Iterator[list[PendingEntry] | None]:
        """Collect the entries a use case records; yields None inside an attempt already running,
        whose outermost use case then answers for them all."""
        if _attempt.get() is not None:
            yield None
            return
        entries: list[PendingEntry] = []
        token = _attempt.set(entries)
        try:
            yield entries
        finally:
            _attempt.reset(token)

    def refuse(self, entries: list[PendingEntry], code: str) -> None:
        """The use case refused after the policy allowed: its allowed entries say so, with the code."""
        refused = {id(entry) for entry in entries if entry.outcome is Outcome.ALLOWED}
        self._pending = [
            dataclasses.replace(entry, outcome=Outcome.REFUSED, reason=code) if id(entry) in refused else entry
            for entry in self._pending
        ]

    async def flush(self, ctx: RequestContext, session: AsyncSession | None) -> None:
        """Queue the pending entries; if they cannot be stored, raise `AccessLogUnavailable`.

        With a session, in its transaction (a write and its entries land together). Without one (a
        read, whose session writes nothing else), with the process's group commit: the entries of
        concurrent reads in one insert, this call returning once they are committed.

        Failing closed: nothing the request did may land without its entries. The database's error
        (it quotes the statement and its parameters) goes to the process log, never to the caller.
        """
        if not self._pending:
            return
        if ctx.hub.settings.audit_recording_disabled_for_benchmark:
            self._pending.clear()
            return
        caller = ctx.caller
        rows = [
            {
                "recorded_at": entry.recorded_at,
                "request_id": ctx.request_id,
                "client_address": ctx.client_address,
                "principal_id": caller.principal_id or None,  # 0 is NOBODY (hub/access/auth.py)
                "department_code": caller.department_code,
                "role": "" if caller == NOBODY else caller.role.value,
                "action": entry.action.value,
                "outcome": entry.outcome.value,
                "applicant_ref": entry.applicant_ref,
                "object_ref": _fit(entry.object_ref, OBJECT_REF_LENGTH),
                "fields": ",".join(entry.fields),
                "material_types": ",".join(entry.material_types),
                "purpose": ctx.purpose or "",
                "reason": entry.reason,
            }
            for entry in self._pending
        ]
        # Whatever happens, these entries are not tried again: a retry of an unstorable row fails alike.
        self._pending.clear()
        try:
            if session is None:
                await ctx.hub.access_group_commit.write(rows)
            else:
                await append_entries(session, rows)
        except Exception as error:
            ACCESS_LOG_FAILURES.inc()
            logger.exception("could not record %d access entries of request %s", len(rows), ctx.request_id)
            raise AccessLogUnavailable("the access log could not record this request") from error


# What an access names may be as long as a caller made it (a receipt number of 5,000 characters):
# the entry keeps its start, marked as cut, so the attempt is recorded instead of failing to be.
OBJECT_REF_LENGTH: int = getattr(AccessEntry.__table__.c.object_ref.type, "length", None) or 200


def _fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
