"""Record events in the caller's transaction. Payloads carry references, never applicant data.

A use case calls one function here, in its own session, before it commits: the event and its
deliveries commit or roll back with the change. The body follows Standard Webhooks' recommended
shape, `{"type", "timestamp", "data"}`, and is stored as the exact bytes every retry will send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.access.context import RequestContext
from storage.models.base import utcnow
from storage.models.cases import Case, Decision
from storage.models.webhooks import DeliveryStatus, OutboxEvent, WebhookDelivery
from storage.repositories import webhooks as repo


class EventType(StrEnum):
    """What departments can subscribe to (docs/webhooks.md). Values never change meaning."""

    CASE_DISTRIBUTED = "case.distributed"
    CASE_CORRECTION_REQUESTED = "case.correction_requested"
    CASE_RESULT_ISSUED = "case.result_issued"
    MATERIAL_SUPERSEDED = "material.superseded"
    MATERIAL_REVOKED = "material.revoked"


def new_message_id() -> str:
    """A Standard Webhooks message id: unique, and stable across every retry of the message."""
    return "msg_" + uuid.uuid4().hex


def event_body(event_type: EventType, timestamp: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type.value, "timestamp": timestamp.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


async def record(
    ctx: RequestContext, event_type: EventType, department_ids: Iterable[int], data: dict[str, Any]
) -> None:
    """One event per addressed department, each with a delivery to its subscribed endpoints."""
    session = ctx.session
    targets = list(dict.fromkeys(department_ids))
    codes = await repo.department_codes(session, targets)
    now = utcnow()
    for department_id in targets:
        body = event_body(event_type, ctx.hub.clock(), {**data, "department": codes[department_id]})
        event = await repo.add_event(
            session,
            OutboxEvent(
                message_id=new_message_id(),
                event_type=event_type.value,
                department_id=department_id,
                payload=body,
                created_at=now,
            ),
        )
        endpoints = [
            e
            for e in await repo.endpoints_of_department(session, department_id)
            if event_type in subscribed(e.event_types)
        ]
        await repo.add_deliveries(
            session,
            [
                WebhookDelivery(
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                )
                for endpoint in endpoints
            ],
        )


def subscribed(event_types: str) -> set[str]:
    return {t for t in event_types.split(",") if t}


# What the use cases call: one line each, in hub/cases/ and hub/documents/materials.py.


async def case_distributed(ctx: RequestContext, case: Case) -> None:
    """受理 (同步分发): every reviewing department, and the window, learn of the case at once."""
    departments = await repo.case_departments(ctx.session, case.id)
    await record(ctx, EventType.CASE_DISTRIBUTED, departments, {"receiptNumber": case.receipt_number})


async def opinion_recorded(ctx: RequestContext, case: Case, department_id: int, decision: str) -> None:
    """A correction request (补正) stops the clock for everyone on the case: all of them are told."""
    if decision != Decision.NEEDS_CORRECTION.value:
        return
    departments = await repo.case_departments(ctx.session, case.id)
    codes = await repo.department_codes(ctx.session, [department_id])
    data = {"receiptNumber": case.receipt_number, "requestedBy": codes[department_id]}
    await record(ctx, EventType.CASE_CORRECTION_REQUESTED, departments, data)


async def result_issued(ctx: RequestContext, case: Case, material_id: int) -> None:
    departments = await repo.case_departments(ctx.session, case.id)
    await record(
        ctx,
        EventType.CASE_RESULT_ISSUED,
        departments,
        {"receiptNumber": case.receipt_number, "materialId": material_id},
    )


async def material_changed(ctx: RequestContext, material_id: int, event_type: EventType) -> None:
    """A material superseded or revoked: the departments of every open case that pins it are told."""
    for case_id, receipt_number in await repo.open_cases_pinning(ctx.session, material_id):
        departments = await repo.case_departments(ctx.session, case_id)
        await record(ctx, event_type, departments, {"receiptNumber": receipt_number, "materialId": material_id})
