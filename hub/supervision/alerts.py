"""An alert's evidence and its life: open, explanation requested, explained, confirmed or dismissed,
closed; each step by a named principal with a note, and late answers escalated.

Evidence: the alert's entries with RFC 9162 inclusion proofs against one signed checkpoint, so
whoever receives it checks it offline with the hub's published key (hub/audit/merkle.py,
hub/audit/checkpoint.py) without trusting the hub's database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.audit.log import InclusionProof, SignedCheckpoint, inclusion_proof, latest_checkpoint
from hub.calendar.workdays import add_working_days, local_date
from hub.errors import AlertStateConflict, Forbidden, InvalidInput, NotFound
from storage.models.supervision import Alert, AlertEvent
from storage.repositories import supervision as repo

# Working days a department has to explain an alert once asked.
RESPONSE_WORKING_DAYS = 5
MAX_NOTE = 4000


class AlertStatus(StrEnum):
    OPEN = "open"
    EXPLANATION_REQUESTED = "explanation_requested"
    EXPLAINED = "explained"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    CLOSED = "closed"


# Which step may follow which, and who takes it: the office, or the alert's department.
_NEXT: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.EXPLANATION_REQUESTED, AlertStatus.CONFIRMED, AlertStatus.DISMISSED}),
    AlertStatus.EXPLANATION_REQUESTED: frozenset({AlertStatus.EXPLAINED, AlertStatus.CONFIRMED, AlertStatus.DISMISSED}),
    AlertStatus.EXPLAINED: frozenset({AlertStatus.CONFIRMED, AlertStatus.DISMISSED, AlertStatus.EXPLANATION_REQUESTED}),
    AlertStatus.CONFIRMED: frozenset({AlertStatus.CLOSED}),
    AlertStatus.DISMISSED: frozenset({AlertStatus.CLOSED}),
    AlertStatus.CLOSED: frozenset(),
}
_BY_DEPARTMENT = frozenset({AlertStatus.EXPLAINED})


@dataclass(frozen=True, slots=True)
class AlertView:
    alert: Alert
    events: tuple[AlertEvent, ...]

    @property
    def status(self) -> AlertStatus:
        return AlertStatus(self.alert.status)

    @property
    def seqs(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.alert.seqs.split(",") if s)


@dataclass(frozen=True, slots=True)
class Evidence:
    """The alert's entries, each with its inclusion proof in one signed checkpoint."""

    alert: Alert
    checkpoint: SignedCheckpoint
    proofs: tuple[InclusionProof, ...]


async def list_alerts(
    ctx: RequestContext, *, status: AlertStatus | None = None, rule: str | None = None, first: int = 100
) -> list[AlertView]:
    if not 1 <= first <= 500:
        raise InvalidInput("first must be between 1 and 500", field="first")
    await guard(ctx, Action.AUDIT_SEARCH, object_ref="supervision:alerts")
    rows = await repo.alerts(ctx.session, status=status.value if status else None, rule=rule, limit=first)
    events = await repo.alert_events(ctx.session, [a.id for a in rows])
    return [AlertView(a, tuple(events.get(a.id, []))) for a in rows]


async def alert_view(ctx: RequestContext, alert_id: int) -> AlertView:
    await guard(ctx, Action.AUDIT_SEARCH, object_ref=f"alert:{alert_id}")
    return await _view(ctx.session, await _alert(ctx.session, alert_id))


async def evidence(ctx: RequestContext, alert_id: int) -> Evidence:
    """Proofs of every evidence entry against the latest signed checkpoint."""
    await guard(ctx, Action.AUDIT_PROOF, object_ref=f"alert:{alert_id}")
    alert = await _alert(ctx.session, alert_id)
    checkpoint = await latest_checkpoint(ctx)
    seqs = [int(s) for s in alert.seqs.split(",") if s]
    proofs = tuple([await inclusion_proof(ctx, seq, checkpoint.tree_size) for seq in seqs])
    return Evidence(alert, checkpoint, proofs)


async def _alert(session: AsyncSession, alert_id: int, *, for_update: bool = False) -> Alert:
    alert = await repo.alert_by_id(session, alert_id, for_update=for_update)
    if alert is None:
        raise NotFound(f"no alert {alert_id}", field="alertId")
    return alert


async def _view(session: AsyncSession, alert: Alert) -> AlertView:
    events = await repo.alert_events(session, [alert.id])
    return AlertView(alert, tuple(events.get(alert.id, [])))


# The action each step is logged as (hub/access/actions.py).
_STEP_ACTIONS: dict[AlertStatus, Action] = {
    AlertStatus.EXPLANATION_REQUESTED: Action.ALERT_REQUEST_EXPLANATION,
    AlertStatus.EXPLAINED: Action.ALERT_EXPLAIN,
    AlertStatus.CONFIRMED: Action.ALERT_CONFIRM,
    AlertStatus.DISMISSED: Action.ALERT_DISMISS,
    AlertStatus.CLOSED: Action.ALERT_CLOSE,
}


@all_or_nothing
async def advance(ctx: RequestContext, alert_id: int, to: AlertStatus, note: str) -> AlertView:
    """Take one step of the alert's life, as the caller, with a note (required but to close).

    The step passes `guard` as its own action on `alert:<id>` (the office decides, a clerk or
    department system explains), so every step, taken or refused, is in the access log; the
    department's explanation is refused (`FORBIDDEN`, logged `refused`) unless the caller's
    department is the alert's.
    """
    if to not in _STEP_ACTIONS:
        raise InvalidInput("an alert is opened by the evaluation only", field="to")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"a note has at most {MAX_NOTE} characters", field="note")
    if not note and to is not AlertStatus.CLOSED:
        raise InvalidInput("say why: a note is required", field="note")
    await guard(ctx, _STEP_ACTIONS[to], object_ref=f"alert:{alert_id}")
    alert = await _alert(ctx.session, alert_id, for_update=True)
    if to in _BY_DEPARTMENT and ctx.caller.department_code != alert.department_code:
        raise Forbidden("only the alert's department explains it", missing="right", right=Action.ALERT_EXPLAIN.value)
    current = AlertStatus(alert.status)
    if to not in _NEXT[current]:
        raise AlertStateConflict(
            f"an alert {current.value} cannot become {to.value}",
            status=current.value,
            allowed=sorted(s.value for s in _NEXT[current]),
        )
    now = ctx.hub.clock()
    alert.status = to.value
    if to is AlertStatus.EXPLANATION_REQUESTED:
        alert.respond_by = add_working_days(local_date(now), RESPONSE_WORKING_DAYS)
        alert.escalated = False
    ctx.session.add(
        AlertEvent(alert_id=alert.id, status=to.value, principal_id=ctx.caller.principal_id, note=note, at=now)
    )
    await ctx.commit()
    return await _view(ctx.session, alert)


async def escalate_late(session: AsyncSession, today: date, now: datetime) -> int:
    """Mark alerts whose explanation is overdue as escalated, once each (caller commits)."""
    late = 0
    for alert in await repo.alerts_awaiting_explanation(session):
        if alert.respond_by is not None and alert.respond_by < today and not alert.escalated:
            alert.escalated = True
            session.add(
                AlertEvent(
                    alert_id=alert.id,
                    status=alert.status,
                    principal_id=None,
                    note=f"escalated: no explanation by {alert.respond_by.isoformat()}",
                    at=now,
                )
            )
            late += 1
    await session.flush()
    return late
