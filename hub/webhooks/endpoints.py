"""A department system's webhook endpoints: register, rotate the secret, pause, resume, list with
their deliveries and attempts; and the operator's side of the same (the `hub webhooks` command).

Endpoints and deliveries hold no applicant data (payloads carry receipt numbers and material ids
only): a department reads a case it is told of through the API, under its purpose, and that read is
logged. The endpoints themselves pass the guard too (`webhook.read`, `webhook.write`, object
`webhook-endpoint:<id>`), so where a department has events sent, and who was refused, is on record.
A `whsec_` secret is returned once, when made; it is stored encrypted and never shown again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.errors import DeliveryNotDead, InvalidInput, NotFound, UnknownEventType
from hub.keys.keyring import Keyring
from hub.outbox.events import EventType, subscribed
from hub.settings import Settings
from hub.webhooks import _keys
from hub.webhooks.outbound import check_endpoint_url
from hub.webhooks.signing import Scheme, new_secret, public_key_text
from storage.models.base import utcnow
from storage.models.webhooks import DeliveryStatus, WebhookEndpoint
from storage.repositories import webhooks as repo

RECENT_DELIVERIES = 20


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt_no: int
    worker: str
    started_at: datetime
    finished_at: datetime
    status_code: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: list[AttemptView]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    department_code: str
    url: str
    event_types: list[str]
    scheme: str
    paused_at: datetime | None
    previous_secret_until: datetime | None
    created_at: datetime
    counts: dict[str, int]
    recent: list[DeliveryView]


@dataclass(frozen=True, slots=True)
class IssuedEndpoint:
    """An endpoint just made or rotated, with its new `whsec_` secret: shown this once (v1 only)."""

    endpoint: EndpointView
    secret: str | None


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    public_key: str
    current: bool


def endpoint_ref(endpoint_id: int) -> str:
    """What an endpoint's secret ciphertext is bound to, so it cannot be copied to another endpoint."""
    return f"webhook-endpoint:{endpoint_id}"


def _event_types(requested: Sequence[str]) -> list[str]:
    known = {t.value for t in EventType}
    unknown = sorted(set(requested) - known)
    if unknown:
        raise UnknownEventType(
            f"unknown event types: {', '.join(unknown)}", field="eventTypes", unknown=unknown, known=sorted(known)
        )
    if not requested:
        raise InvalidInput("subscribe to at least one event type", field="eventTypes")
    return sorted(set(requested))


async def _own_endpoint(ctx: RequestContext, endpoint_id: int) -> WebhookEndpoint:
    """The caller's department's endpoint, after the guard: department systems only (the policy)."""
    await guard(ctx, Action.WEBHOOK_WRITE, object_ref=endpoint_ref(endpoint_id))
    endpoint = await repo.endpoint_by_id(ctx.session, endpoint_id, for_update=True)
    if endpoint is None or endpoint.department_id != ctx.caller.department_id:
        raise NotFound("no endpoint of your department with this id", field="id")
    return endpoint


@all_or_nothing
async def create_endpoint(
    ctx: RequestContext, url: str, event_types: Sequence[str], scheme: Scheme = Scheme.V1
) -> IssuedEndpoint:
    await guard(ctx, Action.WEBHOOK_WRITE, object_ref="webhook-endpoint:new")
    checked_url = check_endpoint_url(url, ctx.hub.settings)
    endpoint = await repo.add_endpoint(
        ctx.session,
        WebhookEndpoint(
            department_id=ctx.caller.department_id,
            url=checked_url,
            event_types=",".join(_event_types(event_types)),
            scheme=scheme.value,
            created_at=utcnow(),
            created_by_principal_id=ctx.caller.principal_id,
        ),
    )
    secret = None
    if scheme is Scheme.V1:
        secret = new_secret()
        endpoint.secret_ciphertext = _keys.encrypt_secret(_keyring(ctx), secret, endpoint_ref(endpoint.id))
    await ctx.commit()
    return IssuedEndpoint((await _views(ctx.session, [(endpoint, ctx.caller.department_code)]))[0], secret)


@all_or_nothing
async def rotate_secret(ctx: RequestContext, endpoint_id: int) -> IssuedEndpoint:
    """A new secret signs from now on; the previous one also signs during the overlap period."""
    endpoint = await _own_endpoint(ctx, endpoint_id)
    if endpoint.scheme != Scheme.V1.value:
        raise InvalidInput("a v1a endpoint is verified with the hub's public key; it has no secret", field="id")
    secret = new_secret()
    overlap = timedelta(seconds=ctx.hub.settings.webhook_secret_overlap_seconds)
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.previous_secret_until = utcnow() + overlap
    endpoint.secret_ciphertext = _keys.encrypt_secret(_keyring(ctx), secret, endpoint_ref(endpoint.id))
    await ctx.commit()
    return IssuedEndpoint((await _views(ctx.session, [(endpoint, ctx.caller.department_code)]))[0], secret)


@all_or_nothing
async def set_paused(ctx: RequestContext, endpoint_id: int, paused: bool) -> EndpointView:
    """A paused endpoint still gets its deliveries queued; they wait, and go out on resume."""
    endpoint = await _own_endpoint(ctx, endpoint_id)
    endpoint.paused_at = (endpoint.paused_at or utcnow()) if paused else None
    await ctx.commit()
    return (await _views(ctx.session, [(endpoint, ctx.caller.department_code)]))[0]


@all_or_nothing
async def endpoints_of_department(ctx: RequestContext) -> list[EndpointView]:
    await guard(ctx, Action.WEBHOOK_READ, object_ref=f"webhook-endpoints:{ctx.caller.department_code}")
    rows = [
        (e, ctx.caller.department_code)
        for e in await repo.endpoints_of_department(ctx.session, ctx.caller.department_id)
    ]
    return await _views(ctx.session, rows)


def public_keys(settings: Settings) -> list[PublicKey]:
    """The hub's v1a public keys, current first: receivers of v1a endpoints verify with these."""
    current, keys = _keys.signing_keys(Keyring(settings.secrets_dir))
    listed = [PublicKey(key_id, public_key_text(key.public_key()), key_id == current) for key_id, key in keys.items()]
    return sorted(listed, key=lambda k: not k.current)


# The operator's side (`hub webhooks`): every department's endpoints, no caller.


async def all_endpoints(session: AsyncSession) -> list[EndpointView]:
    return await _views(session, await repo.all_endpoints(session))


async def operator_set_paused(session: AsyncSession, endpoint_id: int, paused: bool) -> None:
    endpoint = await repo.endpoint_by_id(session, endpoint_id, for_update=True)
    if endpoint is None:
        raise NotFound(f"no endpoint with id {endpoint_id}", field="id")
    endpoint.paused_at = (endpoint.paused_at or utcnow()) if paused else None


async def replay_dead_letters(
    session: AsyncSession, *, endpoint_id: int | None = None, delivery_ids: Sequence[int] = ()
) -> int:
    """Queue dead letters again, due now, with a fresh retry budget; same webhook-id and body."""
    replayed = await repo.replay(session, utcnow(), delivery_ids=delivery_ids, endpoint_id=endpoint_id)
    if delivery_ids and replayed < len(set(delivery_ids)):
        raise DeliveryNotDead("only dead letters can be replayed; some of these are pending or delivered")
    return replayed


async def _views(session: AsyncSession, endpoints: Sequence[tuple[WebhookEndpoint, str]]) -> list[EndpointView]:
    ids = [endpoint.id for endpoint, _ in endpoints]
    counts = await repo.delivery_counts(session, ids)
    views = []
    for endpoint, code in endpoints:
        recent = await repo.recent_deliveries(session, endpoint.id, RECENT_DELIVERIES)
        attempts = await repo.attempts_of(session, [d.id for d, _ in recent])
        views.append(
            EndpointView(
                id=endpoint.id,
                department_code=code,
                url=endpoint.url,
                event_types=sorted(subscribed(endpoint.event_types)),
                scheme=endpoint.scheme,
                paused_at=endpoint.paused_at,
                previous_secret_until=endpoint.previous_secret_until,
                created_at=endpoint.created_at,
                counts=counts[endpoint.id],
                recent=[
                    DeliveryView(
                        id=delivery.id,
                        message_id=event.message_id,
                        event_type=event.event_type,
                        status=delivery.status,
                        attempts=[
                            AttemptView(a.attempt_no, a.worker, a.started_at, a.finished_at, a.status_code, a.error)
                            for a in attempts[delivery.id]
                        ],
                        next_attempt_at=delivery.next_attempt_at
                        if delivery.status == DeliveryStatus.PENDING.value
                        else None,
                        delivered_at=delivery.delivered_at,
                        last_error=delivery.last_error,
                    )
                    for delivery, event in recent
                ],
            )
        )
    return views


def _keyring(ctx: RequestContext) -> Keyring:
    return Keyring(ctx.hub.settings.secrets_dir)
