"""The outbox and webhook delivery: events written with the change that causes them, the endpoints
departments register, one delivery per event and endpoint, and every attempt to send it.

Events hold references (receipt numbers, material ids), never profile values or document content.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or for its endpoint to resume)
    DELIVERED = "delivered"  # a 2xx answer was received
    DEAD = "dead"  # retries exhausted: kept as a dead letter until replayed


class OutboxEvent(Base):
    """One event addressed to one department, written in the transaction of the change it reports."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The Standard Webhooks `webhook-id` ("msg_..."): the same on every retry and replay.
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # The exact JSON body sent (and signed), so every retry carries the same bytes.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    """A department's receiver: a URL, the event types it wants, and how deliveries are signed."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    url: Mapped[str] = mapped_column(String(2048))
    # Comma-separated event types, e.g. "case.distributed,material.revoked".
    event_types: Mapped[str] = mapped_column(Text)
    # "v1" (HMAC-SHA256 with the endpoint's secret) or "v1a" (Ed25519 with the hub's key).
    scheme: Mapped[str] = mapped_column(String(8))
    # The `whsec_` secret, encrypted under a key derived from the hub's master key (never plain).
    secret_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    # After a rotation the previous secret also signs, until `previous_secret_until`.
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))

    __table_args__ = (Index("ix_webhook_endpoints_department", "department_id"),)


class WebhookDelivery(Base):
    """One event to one endpoint: at-least-once, leased to one worker at a time."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The worker holding the delivery and until when; an expired lease is free to take again.
    lease_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )


class WebhookAttempt(Base):
    """One try to send a delivery: when, by which worker, and what came back."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempt_no"),)
