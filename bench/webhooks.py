"""`python -m bench.webhooks`: webhook delivery throughput and delay, on PostgreSQL.

In one run, against one receiver (uvicorn on loopback, in its own process, answering 200):
1. Baseline: the same receiver taking signed POSTs straight from one httpx client (100 at once).
2. Throughput: N events queued in one transaction, then two `hub worker` processes started; the
   rate from the first arrival to the last, and its ratio to the baseline.
3. Delay: with both workers running, events committed one per transaction at a steady rate; the
   time from each event's commit to its arrival at the receiver (p50, p99). The workers wake on
   the commit's NOTIFY; their poll (0.5 s) is only the fallback.

HUB_BENCH_WEBHOOK_EVENTS (default 3000) events for throughput, HUB_BENCH_WEBHOOK_RATE (default 100)
events per second for HUB_BENCH_WEBHOOK_SECONDS (default 10) for the delay (the aim: p99 under 1 s
at 100 events/s), HUB_BENCH_WEBHOOK_PER_TRANSACTION (default 1) events in each transaction.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httpx

from bench.common import postgres_database, print_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from starlette.applications import Starlette

    from hub.access.auth import Caller
    from hub.access.context import Hub, RequestContext
    from hub.settings import Settings

EVENTS = int(os.environ.get("HUB_BENCH_WEBHOOK_EVENTS", "3000"))
RATE = float(os.environ.get("HUB_BENCH_WEBHOOK_RATE", "100"))
SECONDS = float(os.environ.get("HUB_BENCH_WEBHOOK_SECONDS", "10"))
# Events per transaction for the delay: 1 by default; a case distributed to several departments
# commits one event per department in one transaction.
PER_TRANSACTION = int(os.environ.get("HUB_BENCH_WEBHOOK_PER_TRANSACTION", "1"))
WORKERS = 2
EMITTERS = 10  # concurrent committers when events are paced (`emit`)


# The receiver: its own process, so it does not share a CPU-bound loop with the senders.


def receiver_app() -> Starlette:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    arrivals: dict[str, float] = {}

    async def hook(request: Request) -> PlainTextResponse:
        await request.body()
        arrivals.setdefault(request.headers.get("webhook-id", ""), time.time())
        return PlainTextResponse("ok")

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(arrivals)

    async def reset(_: Request) -> PlainTextResponse:
        arrivals.clear()
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats), Route("/reset", reset)])


def serve_receiver(port: int) -> None:
    import uvicorn

    uvicorn.run(receiver_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return cast(int, probe.getsockname()[1])


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


def arrivals(base: str) -> dict[str, float]:
    return cast(dict[str, float], httpx.get(f"{base}/stats", timeout=30).json())


# The hub side: a department, its endpoint, and events as use cases write them.


async def prepare(settings: Settings, url: str) -> str:
    from hub.access.auth import Role
    from hub.access.principals import authenticate, create_principal
    from hub.services import hub_for
    from hub.webhooks import endpoints
    from storage.repositories.principals import upsert_department

    async with hub_for(settings) as hub:
        async with hub.sessions() as session:
            await upsert_department(session, "sw", "税务局", is_supervision=False)
            issued = await create_principal(session, "bench", Role.DEPARTMENT_SYSTEM, "sw")
            await session.commit()
        ctx = await _context(hub, issued.token, authenticate)
        try:
            await endpoints.create_endpoint(ctx, url, ["case.distributed"])
        finally:
            await ctx.close()
        return issued.token


async def _context(
    hub: Hub, token: str, authenticate: Callable[[AsyncSession, str | None], Awaitable[Caller]]
) -> RequestContext:
    from hub.access.context import RequestContext

    session = hub.sessions()
    return RequestContext(hub, await authenticate(session, f"Bearer {token}"), session=session)


async def emit(
    settings: Settings, token: str, count: int, per_transaction: int, rate: float | None = None
) -> dict[str, float]:
    """Commit `count` events; returns each one's webhook-id and commit time.

    At a `rate`, EMITTERS concurrent senders each commit every EMITTERS-th event on time, as that
    many requests of a served hub would: one sender alone, a round trip after another, falls
    behind 100 events/s on a loaded machine, and the delay measured would then be at a lower rate."""
    from sqlalchemy.event import listen

    from hub.access.context import RequestContext
    from hub.access.principals import authenticate
    from hub.outbox import events
    from hub.services import hub_for
    from storage.models import OutboxEvent

    committed: dict[str, float] = {}
    async with hub_for(settings) as hub:
        async with hub.sessions() as session:
            caller = await authenticate(session, f"Bearer {token}")
        started = time.monotonic()

        async def commit(first: int) -> None:
            ctx = RequestContext(hub, caller, session=hub.sessions())
            written: list[str] = []

            def kept(_session: object, row: object) -> None:  # the events this transaction writes
                if isinstance(row, OutboxEvent):
                    written.append(row.message_id)

            listen(ctx.session.sync_session, "pending_to_persistent", kept)
            try:
                for n in range(first, min(first + per_transaction, count)):
                    await events.record(
                        ctx, events.EventType.CASE_DISTRIBUTED, [caller.department_id], {"receiptNumber": f"B-{n}"}
                    )
                await ctx.commit()
                at = time.time()
                committed.update((message_id, at) for message_id in written)
            finally:
                await ctx.close()

        async def sender(lane: int, lanes: int) -> None:
            for first in range(lane * per_transaction, count, lanes * per_transaction):
                if rate:
                    await asyncio.sleep(max(0.0, started + first / rate - time.monotonic()))
                await commit(first)

        lanes = EMITTERS if rate else 1
        await asyncio.gather(*(sender(lane, lanes) for lane in range(lanes)))
    return committed


def start_workers(environment: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=environment, stdout=subprocess.DEVNULL)
        for _ in range(WORKERS)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_count(base: str, count: int, timeout: float = 600) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = arrivals(base)
        if len(got) >= count:
            return got
        time.sleep(0.2)
    raise RuntimeError(f"only {len(arrivals(base))} of {count} deliveries arrived")


async def baseline(url: str, count: int) -> float:
    """Signed POSTs straight from one client, 100 at once: what the receiver takes at most."""
    from datetime import UTC, datetime

    from hub.webhooks.signing import headers, new_secret, v1_signatures

    secret = new_secret()
    body = '{"type":"case.distributed","data":{"receiptNumber":"X"}}'
    limit = asyncio.Semaphore(100)
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(n: int) -> None:
            async with limit:
                now = datetime.now(UTC)
                await http.post(
                    url,
                    content=body,
                    headers=headers(f"msg_base{n}", now, v1_signatures([secret], f"msg_base{n}", now, body)),
                )

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return count / (time.perf_counter() - started)


def main() -> None:
    from hub.settings import Settings
    from storage.migrate import upgrade

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = subprocess.Popen(
        [sys.executable, "-c", f"from bench.webhooks import serve_receiver; serve_receiver({port})"]
    )
    try:
        wait_for_port(port)
        with postgres_database() as database_url, tempfile.TemporaryDirectory(prefix="hub-bench-wh-") as var:
            environment = {
                **os.environ,
                "HUB_DATABASE_URL": database_url,
                "HUB_SECRETS_DIR": f"{var}/secrets",
                "HUB_BLOB_URL": f"file://{var}/blobs",
                "HUB_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1/32"]',
            }
            settings = Settings(
                database_url=database_url,
                secrets_dir=Path(f"{var}/secrets"),
                blob_url=f"file://{var}/blobs",
                webhook_allowed_hosts=["127.0.0.1/32"],
            )
            upgrade(database_url)
            token = asyncio.run(prepare(settings, f"{base}/hook"))

            direct = asyncio.run(baseline(f"{base}/hook", EVENTS))
            httpx.get(f"{base}/reset")

            asyncio.run(emit(settings, token, EVENTS, per_transaction=500))
            workers = start_workers(environment)
            try:
                got = wait_for_count(base, EVENTS)
                times = sorted(got.values())
                rate = (len(times) - 1) / (times[-1] - times[0])
                httpx.get(f"{base}/reset")
                count = int(RATE * SECONDS)
                committed = asyncio.run(emit(settings, token, count, per_transaction=PER_TRANSACTION, rate=RATE))
                got = wait_for_count(base, count)
            finally:
                stop(workers)
            delays = sorted((got[m] - committed[m]) * 1000 for m in committed if m in got)
            offered = len(committed) / (max(committed.values()) - min(committed.values()))
            p50 = statistics.median(delays)
            p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
            print_table(
                [
                    ("measure", "value", "ratio"),
                    ("direct POSTs/s (baseline, 1 client, 100 at once)", f"{direct:.0f}", "1.00"),
                    (f"deliveries/s, {WORKERS} hub workers, {EVENTS} queued", f"{rate:.0f}", f"{rate / direct:.2f}"),
                    (
                        f"events/s committed for the delay (aimed at {RATE:.0f}, {PER_TRANSACTION} a transaction)",
                        f"{offered:.0f}",
                        "",
                    ),
                    (f"commit to delivery p50 ms ({RATE:.0f} events/s)", f"{p50:.0f}", ""),
                    (f"commit to delivery p99 ms ({RATE:.0f} events/s)", f"{p99:.0f}", ""),
                    ("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}", ""),
                ]
            )
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


if __name__ == "__main__":
    main()
