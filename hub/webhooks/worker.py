"""The delivery worker: claim due deliveries under a lease, sign, send, record the attempt.

Several workers (`hub worker`, any number of processes, on PostgreSQL) share the queue: a claim
takes rows with `FOR UPDATE SKIP LOCKED` and leases them for `HUB_WEBHOOK_LEASE_SECONDS`, longer
than a send can take (connect plus read timeouts, checked in settings), so no delivery is sent by
two workers at once. A worker killed mid-send leaves its lease to expire and the delivery is tried
again: delivery is at least once, and receivers deduplicate on `webhook-id`. On SQLite one worker
runs inside `hub serve` (docs/webhooks.md says why).

On PostgreSQL a worker also LISTENs on the channel that committed deliveries notify
(storage/repositories/webhooks.py) and claims at once when told, instead of at its next poll; the
poll stays, for retries coming due and for notifications missed while the listener reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hub.access.context import Hub
from hub.keys.keyring import Keyring
from hub.webhooks import _keys, outbound, retries
from hub.webhooks.endpoints import endpoint_ref
from hub.webhooks.signing import Scheme, headers, v1_signatures, v1a_signature
from storage.models.base import utcnow
from storage.models.webhooks import DeliveryStatus, WebhookAttempt
from storage.repositories import webhooks as repo
from storage.repositories.webhooks import ClaimedDelivery

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
MAX_ERROR = 500


class Worker:
    """One delivery worker of a process; `run_forever` until `stop` is set or the task is cancelled."""

    def __init__(self, hub: Hub, name: str | None = None) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.keyring = Keyring(self.settings.secrets_dir)
        self._http: httpx.AsyncClient | None = None
        self._secrets: dict[tuple[int, str], str] = {}
        # Sent, not yet recorded: (claimed, started, finished, answer).
        self._outcomes: list[tuple[ClaimedDelivery, datetime, datetime, outbound.Answer]] = []
        # Set when deliveries were committed (PostgreSQL NOTIFY); `listening` once the LISTEN is on.
        self.woken = asyncio.Event()
        self.listening = asyncio.Event()

    @property
    def http(self) -> httpx.AsyncClient:
        """Made for the first delivery: a process with nothing to deliver (`hub serve` on SQLite runs
        a worker) holds no client and no TLS context (2 MiB)."""
        if self._http is None:
            self._http = outbound.client(self.settings, max_connections=self.settings.webhook_worker_batch)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        stopping = asyncio.create_task(stop.wait())
        listener = asyncio.create_task(self._listen())
        inflight: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                self.woken.clear()  # a notification from now on wakes the wait below
                room = self.settings.webhook_worker_batch - len(inflight)
                claimed = await self._claim_quietly(room) if room > 0 else []
                inflight.update(asyncio.create_task(self.deliver(c)) for c in claimed)
                if not claimed or len(inflight) >= self.settings.webhook_worker_batch:
                    # Nothing due, or full: wait for a send to finish, new deliveries (if there is
                    # room for them), the poll interval, or stop.
                    waking = asyncio.create_task(self.woken.wait())
                    room_left = len(inflight) < self.settings.webhook_worker_batch
                    await asyncio.wait(
                        {*inflight, stopping, *([waking] if room_left else [])},
                        timeout=self.settings.webhook_worker_poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    waking.cancel()
                inflight = {task for task in inflight if not task.done()}
                await self._settle_quietly()
            if inflight:
                await asyncio.wait(inflight)
            await self._settle_quietly()
        finally:
            stopping.cancel()
            listener.cancel()
            with suppress(asyncio.CancelledError):
                await listener
            for task in inflight:
                task.cancel()
            await self.close()

    async def _listen(self) -> None:
        """PostgreSQL: set `woken` whenever deliveries commit, for the life of `run_forever`."""
        if self.settings.is_sqlite:
            return

        def heard(_connection: object, _pid: int, _channel: str, _payload: str) -> None:
            self.woken.set()

        while True:
            try:
                async with self.hub.engine.connect() as connection:
                    raw = (await connection.get_raw_connection()).driver_connection
                    await raw.add_listener(repo.DELIVERIES_CHANNEL, heard)  # type: ignore[union-attr]
                    self.woken.set()  # deliveries may have committed while nobody listened
                    self.listening.set()
                    try:
                        while not raw.is_closed():  # type: ignore[union-attr]
                            await asyncio.sleep(1.0)
                    finally:
                        self.listening.clear()
                        if not raw.is_closed():  # type: ignore[union-attr]
                            await raw.remove_listener(repo.DELIVERIES_CHANNEL, heard)  # type: ignore[union-attr]
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: the poll goes on meanwhile; listen again shortly
                log.warning("webhook worker %s cannot listen for deliveries; retrying", self.name, exc_info=True)
                await asyncio.sleep(1.0)

    async def run_until_idle(self) -> int:
        """Deliver whatever is due now, until nothing is (tests, `hub worker --once`). Returns sends."""
        sent = 0
        while claimed := await self.claim(self.settings.webhook_worker_batch):
            await asyncio.gather(*(self.deliver(c) for c in claimed))
            await self.settle()
            sent += len(claimed)
        return sent

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        async with self.hub.sessions() as session:
            await repo.relax_durability(session)
            claimed = await repo.claim_due(session, now, lease_until, uuid.uuid4().hex, limit)
            await session.commit()
        return claimed

    async def _claim_quietly(self, limit: int) -> list[ClaimedDelivery]:
        try:
            return await self.claim(limit)
        except Exception:  # the database may be briefly away; keep the worker alive and try again
            log.exception("webhook worker %s could not claim deliveries", self.name)
            return []

    async def deliver(self, claimed: ClaimedDelivery) -> None:
        """Sign and send; the outcome waits in memory for `settle`, which records a batch at once."""
        started = utcnow()
        try:
            signatures = self._signatures(claimed, started)
        except Exception as error:  # noqa: BLE001  (an undecryptable secret fails this delivery, not the worker)
            answer = outbound.Answer(None, f"cannot sign: {type(error).__name__}", 0.0)
        else:
            answer = await outbound.send(
                self.http,
                claimed.endpoint.url,
                claimed.payload.encode(),
                headers(claimed.message_id, started, signatures),
                self.settings.webhook_max_response_bytes,
            )
        self._outcomes.append((claimed, started, utcnow(), answer))

    def _signatures(self, claimed: ClaimedDelivery, timestamp: datetime) -> list[str]:
        endpoint = claimed.endpoint
        if endpoint.scheme == Scheme.V1A.value:
            current, keys = _keys.signing_keys(self.keyring)
            return [v1a_signature(keys[current], claimed.message_id, timestamp, claimed.payload)]
        stored = [endpoint.secret_ciphertext]
        if endpoint.previous_secret_until is not None and endpoint.previous_secret_until > timestamp:
            stored.append(endpoint.previous_secret_ciphertext)
        secrets_ = [self._secret(endpoint.id, s) for s in stored if s]
        return v1_signatures(secrets_, claimed.message_id, timestamp, claimed.payload)

    def _secret(self, endpoint_id: int, ciphertext: str) -> str:
        key = (endpoint_id, ciphertext)
        if key not in self._secrets:
            self._secrets[key] = _keys.decrypt_secret(self.keyring, ciphertext, endpoint_ref(endpoint_id))
        return self._secrets[key]

    async def _settle_quietly(self) -> None:
        try:
            await self.settle()
        except Exception:  # the leases will expire and these deliveries be tried again
            log.exception("webhook worker %s could not record its deliveries", self.name)

    async def settle(self) -> None:
        """Record the attempts sent so far and their deliveries' next state, in one transaction.

        One transaction per batch rather than per delivery: a worker's database cost is a claim and a
        settle per batch. If the commit is lost, the leases expire and the deliveries are sent again,
        which at-least-once delivery allows (receivers deduplicate on webhook-id).
        """
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return
        async with self.hub.sessions() as session:
            await repo.relax_durability(session)
            await repo.add_attempts(
                session,
                [
                    WebhookAttempt(
                        delivery_id=claimed.delivery_id,
                        attempt_no=claimed.attempt_no,
                        worker=self.name[:64],
                        started_at=started,
                        finished_at=finished,
                        status_code=answer.status_code,
                        error=answer.error[:MAX_ERROR] if answer.error else None,
                    )
                    for claimed, started, finished, answer in outcomes
                ],
            )
            await repo.settle(
                session, [self._settlement(claimed, finished, answer) for claimed, _, finished, answer in outcomes]
            )
            await session.commit()

    def _settlement(self, claimed: ClaimedDelivery, finished: datetime, answer: outbound.Answer) -> repo.Settlement:
        error = answer.error[:MAX_ERROR] if answer.error else None
        if answer.succeeded:
            return repo.Settlement(
                claimed.delivery_id, claimed.lease_token, DeliveryStatus.DELIVERED, delivered_at=finished
            )
        if retries.gives_up_after(claimed.attempt_no, self.settings):
            return repo.Settlement(claimed.delivery_id, claimed.lease_token, DeliveryStatus.DEAD, error=error)
        return repo.Settlement(
            claimed.delivery_id,
            claimed.lease_token,
            DeliveryStatus.PENDING,
            next_attempt_at=finished + retries.delay_after(claimed.attempt_no, self.settings),
            error=error,
        )
