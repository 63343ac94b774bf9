"""Webhooks over GraphQL: a department system's own endpoints, their deliveries and attempts, and
the hub's v1a public keys (docs/webhooks.md)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from hub.webhooks import endpoints
from hub.webhooks.signing import Scheme
from schema import typed
from schema.context import Info
from schema.types.plain import plain_of


@strawberry.enum(description="V1: HMAC-SHA256 with the endpoint's whsec_ secret. V1A: Ed25519 with the hub's key.")
class SignatureScheme(Enum):
    V1 = "v1"
    V1A = "v1a"


@strawberry.enum(
    description="PENDING (next attempt due, or paused), DELIVERED (a 2xx came back), DEAD (retries spent)."
)
class DeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@strawberry.type(description="One try to send a delivery.")
class WebhookAttempt:
    attempt_no: int
    worker: str
    started_at: datetime
    finished_at: datetime
    status_code: int | None = strawberry.field(description="The receiver's HTTP status; null if none came back.")
    error: str | None


@strawberry.type(description="One event to one endpoint. The webhook-id stays the same on every retry and replay.")
class WebhookDelivery:
    id: int
    message_id: str = strawberry.field(description="The webhook-id header.")
    event_type: str
    status: DeliveryStatus
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    attempts: list[WebhookAttempt]


@strawberry.type(description="Where the hub sends a department's events. Its secret is never shown after creation.")
class WebhookEndpoint:
    id: int
    url: str
    event_types: list[str]
    scheme: SignatureScheme
    paused_at: datetime | None
    previous_secret_until: datetime | None = strawberry.field(
        description="After a rotation, the previous secret also signs until this time."
    )
    created_at: datetime
    pending: int
    delivered: int
    dead: int
    recent_deliveries: list[WebhookDelivery] = strawberry.field(description="The latest 20, newest first.")


@strawberry.type(description="An endpoint just made or its secret rotated: the whsec_ secret is shown this once.")
class IssuedWebhookEndpoint:
    endpoint: WebhookEndpoint
    secret: str | None = strawberry.field(description="Null for a V1A endpoint (verify with webhookPublicKeys).")


@strawberry.type(description="A public key of the hub for V1A signatures (whpk_ + base64 of the raw Ed25519 key).")
class WebhookPublicKey:
    key_id: str
    public_key: str
    current: bool


def endpoint_of(view: endpoints.EndpointView) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=view.id,
        url=view.url,
        event_types=view.event_types,
        scheme=SignatureScheme(view.scheme),
        paused_at=view.paused_at,
        previous_secret_until=view.previous_secret_until,
        created_at=view.created_at,
        pending=view.counts.get("pending", 0),
        delivered=view.counts.get("delivered", 0),
        dead=view.counts.get("dead", 0),
        recent_deliveries=[
            plain_of(
                WebhookDelivery,
                d,
                status=DeliveryStatus(d.status),
                attempts=[plain_of(WebhookAttempt, a) for a in d.attempts],
            )
            for d in view.recent
        ],
    )


def issued_of(issued: endpoints.IssuedEndpoint) -> IssuedWebhookEndpoint:
    return IssuedWebhookEndpoint(endpoint=endpoint_of(issued.endpoint), secret=issued.secret)


@strawberry.input(description="A receiver for the caller's department.")
class CreateWebhookEndpointInput:
    url: str
    event_types: list[str] = strawberry.field(description="e.g. case.distributed, material.revoked.")
    scheme: SignatureScheme = SignatureScheme.V1


@strawberry.type
class WebhookQuery:
    @typed.field(description="The caller's department's endpoints, with their latest deliveries and attempts.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        return [endpoint_of(v) for v in await endpoints.endpoints_of_department(info.context.hub)]

    @typed.field(description="The hub's public keys for V1A signatures, current first.")
    def webhook_public_keys(self, info: Info) -> list[WebhookPublicKey]:
        return [plain_of(WebhookPublicKey, k) for k in endpoints.public_keys(info.context.hub.hub.settings)]


@strawberry.type
class WebhookMutation:
    @typed.mutation(description="Register an endpoint; a V1 endpoint's whsec_ secret is returned this once.")
    async def create_webhook_endpoint(self, info: Info, input: CreateWebhookEndpointInput) -> IssuedWebhookEndpoint:
        issued = await endpoints.create_endpoint(
            info.context.hub, input.url, input.event_types, Scheme(input.scheme.value)
        )
        return issued_of(issued)

    @typed.mutation(description="A new secret; the previous one also signs during the overlap period.")
    async def rotate_webhook_secret(self, info: Info, id: int) -> IssuedWebhookEndpoint:
        return issued_of(await endpoints.rotate_secret(info.context.hub, id))

    @typed.mutation(description="Hold deliveries (they queue) until resumed.")
    async def pause_webhook_endpoint(self, info: Info, id: int) -> WebhookEndpoint:
        return endpoint_of(await endpoints.set_paused(info.context.hub, id, True))

    @typed.mutation(description="Send what queued while paused, and new events again.")
    async def resume_webhook_endpoint(self, info: Info, id: int) -> WebhookEndpoint:
        return endpoint_of(await endpoints.set_paused(info.context.hub, id, False))
