"""Outbox events, webhook endpoints, deliveries and attempts.

`claim_due` is the one statement several workers race on: on PostgreSQL it takes due rows with
`FOR UPDATE SKIP LOCKED`, so two workers never claim one delivery, and each claim sets a lease that
another worker may take over only once it has expired.

On PostgreSQL, adding deliveries also notifies `DELIVERIES_CHANNEL`: the notification is delivered
when the transaction commits (never if it rolls back), and identical ones in one transaction are
sent once, so workers listening wake as soon as an event's deliveries can be claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Department
from storage.models.base import UTCDateTime
from storage.models.cases import Case, CaseMaterial, CaseStatus, ReviewTask
from storage.models.webhooks import (
    DeliveryStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

DELIVERIES_CHANNEL = "hub_webhook_deliveries"


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """What a worker needs to send one delivery, read in the claiming transaction."""

    delivery_id: int
    lease_token: str
    attempt_no: int
    message_id: str
    event_type: str
    payload: str
    event_created_at: datetime
    endpoint: WebhookEndpoint


# Events -----------------------------------------------------------------------------------------


async def add_event(session: AsyncSession, event: OutboxEvent) -> OutboxEvent:
    session.add(event)
    await session.flush()
    return event


async def endpoints_of_department(session: AsyncSession, department_id: int) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.department_id == department_id).order_by(WebhookEndpoint.id)
    )
    return list(rows)


async def add_deliveries(session: AsyncSession, deliveries: Sequence[WebhookDelivery]) -> None:
    if not deliveries:
        return
    session.add_all(deliveries)
    await session.flush()
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERIES_CHANNEL})


async def department_codes(session: AsyncSession, department_ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(select(Department.id, Department.code).where(Department.id.in_(department_ids)))
    return {row.id: row.code for row in rows}


async def case_departments(session: AsyncSession, case_id: int) -> list[int]:
    """The departments reviewing a case, then its window's department (once)."""
    reviewing = await session.scalars(
        select(ReviewTask.department_id).where(ReviewTask.case_id == case_id).order_by(ReviewTask.department_id)
    )
    window = await session.scalar(select(Case.window_department_id).where(Case.id == case_id))
    ids = list(reviewing)
    return ids + ([window] if window is not None and window not in ids else [])


async def open_cases_pinning(session: AsyncSession, material_id: int) -> list[tuple[int, str]]:
    """(case id, receipt number) of cases not completed whose current attachment is this material."""
    rows = await session.execute(
        select(Case.id, Case.receipt_number)
        .join(CaseMaterial, CaseMaterial.case_id == Case.id)
        .where(
            CaseMaterial.material_id == material_id,
            CaseMaterial.superseded_at.is_(None),
            Case.status != CaseStatus.COMPLETED.value,
        )
        .distinct()
        .order_by(Case.id)
    )
    return [(row.id, row.receipt_number) for row in rows]


# Endpoints --------------------------------------------------------------------------------------


async def add_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    session.add(endpoint)
    await session.flush()
    return endpoint


async def endpoint_by_id(
    session: AsyncSession, endpoint_id: int, *, for_update: bool = False
) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def all_endpoints(session: AsyncSession) -> list[tuple[WebhookEndpoint, str]]:
    rows = await session.execute(
        select(WebhookEndpoint, Department.code)
        .join(Department, Department.id == WebhookEndpoint.department_id)
        .order_by(WebhookEndpoint.id)
    )
    return [(row[0], row[1]) for row in rows]


async def delivery_counts(session: AsyncSession, endpoint_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    rows = await session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)
    )
    counts: dict[int, dict[str, int]] = {endpoint_id: {} for endpoint_id in endpoint_ids}
    for endpoint_id, status, count in rows:
        counts[endpoint_id][status] = count
    return counts


async def recent_deliveries(
    session: AsyncSession, endpoint_id: int, limit: int
) -> list[tuple[WebhookDelivery, OutboxEvent]]:
    rows = await session.execute(
        select(WebhookDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


# Delivery ---------------------------------------------------------------------------------------


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, lease_token: str, limit: int
) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries of endpoints not paused, and count the attempt begun."""
    due = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            WebhookEndpoint.paused_at.is_(None),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=WebhookDelivery, skip_locked=True)
    candidates = list(await session.scalars(due))
    if not candidates:
        return []
    # The conditions again: on SQLite (no SKIP LOCKED) another worker may have claimed a candidate
    # between this select and this update; only the rows this update changed are ours.
    ids = list(
        await session.scalars(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(candidates),
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .values(lease_token=lease_token, lease_until=lease_until, attempts=WebhookDelivery.attempts + 1)
            .returning(WebhookDelivery.id)
        )
    )
    if not ids:
        return []
    rows = await session.execute(
        select(WebhookDelivery, OutboxEvent, WebhookEndpoint)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
        .execution_options(populate_existing=True)
    )
    return [
        ClaimedDelivery(d.id, lease_token, d.attempts, e.message_id, e.event_type, e.payload, e.created_at, endpoint)
        for d, e, endpoint in rows
    ]


async def relax_durability(session: AsyncSession) -> None:
    """PostgreSQL: this transaction's commit does not wait for the WAL flush. For claims and
    settlements only, where a commit lost in a crash means a delivery sent again, never one lost."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))


async def add_attempts(session: AsyncSession, attempts: Sequence[WebhookAttempt]) -> None:
    session.add_all(attempts)
    await session.flush()


@dataclass(frozen=True, slots=True)
class Settlement:
    """A delivery's state after an attempt; applied only while the worker still holds its lease."""

    delivery_id: int
    lease_token: str
    status: DeliveryStatus
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    error: str | None = None


_SETTLE = (
    update(WebhookDelivery)
    .where(WebhookDelivery.id == bindparam("b_id"), WebhookDelivery.lease_token == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        next_attempt_at=func.coalesce(bindparam("b_next", type_=UTCDateTime()), WebhookDelivery.next_attempt_at),
        delivered_at=func.coalesce(bindparam("b_delivered", type_=UTCDateTime()), WebhookDelivery.delivered_at),
        last_error=bindparam("b_error", type_=String()),
        lease_token=None,
        lease_until=None,
    )
)


async def settle(session: AsyncSession, settlements: Sequence[Settlement]) -> None:
    """Record many outcomes in one statement (executemany); a row whose lease was lost is left alone."""
    if not settlements:
        return
    connection = await session.connection()
    await connection.execute(
        _SETTLE,
        [
            {
                "b_id": s.delivery_id,
                "b_token": s.lease_token,
                "b_status": s.status.value,
                "b_next": s.next_attempt_at,
                "b_delivered": s.delivered_at,
                "b_error": s.error,
            }
            for s in settlements
        ],
    )


async def replay(
    session: AsyncSession, now: datetime, *, delivery_ids: Sequence[int] = (), endpoint_id: int | None = None
) -> int:
    """Put dead letters back in the queue, due now, with a fresh retry budget."""
    conditions = [WebhookDelivery.status == DeliveryStatus.DEAD.value]
    if delivery_ids:
        conditions.append(WebhookDelivery.id.in_(delivery_ids))
    if endpoint_id is not None:
        conditions.append(WebhookDelivery.endpoint_id == endpoint_id)
    result = await session.execute(
        update(WebhookDelivery)
        .where(and_(*conditions))
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, attempts=0, last_error=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
