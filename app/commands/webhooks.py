"""`hub webhooks list | replay | pause | resume` for the operator, and `hub worker`, which delivers
webhooks and runs the jobs packages outside hub add through the `hub.worker_jobs` entry-point group
(the connector schedules, connectors/schedules.py), so that hub never imports them by name."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Coroutine
from contextlib import suppress
from importlib.metadata import entry_points
from typing import Any

from hub.access.context import Hub
from hub.services import hub_for, in_session
from hub.settings import Settings
from hub.webhooks import endpoints
from hub.webhooks.worker import Worker

# `job(hub, owner, once)`: once, run what is due and return a line to print; else run until cancelled.
WorkerJob = Callable[[Hub, str, bool], Coroutine[Any, Any, str]]
WORKER_JOBS_ENTRY_POINTS = "hub.worker_jobs"


def worker_jobs() -> list[WorkerJob]:
    return [entry_point.load() for entry_point in entry_points(group=WORKER_JOBS_ENTRY_POINTS)]


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    views = asyncio.run(in_session(settings, endpoints.all_endpoints))
    if not views:
        print("no webhook endpoints")
    for view in views:
        state = "paused" if view.paused_at else "active"
        counts = " ".join(f"{k}={v}" for k, v in sorted(view.counts.items())) or "no deliveries"
        print(f"{view.id:5} {view.department_code:8} {state:6} {view.scheme:3} {view.url}")
        print(f"      events: {', '.join(view.event_types)}; {counts}")
        if args.deliveries:
            for delivery in view.recent:
                last = delivery.attempts[-1] if delivery.attempts else None
                answer = (last.status_code or last.error) if last else "not tried"
                print(
                    f"      delivery {delivery.id} {delivery.message_id} {delivery.event_type} {delivery.status}"
                    f" attempts={len(delivery.attempts)} last={answer}"
                )


def cmd_replay(args: argparse.Namespace, settings: Settings) -> None:
    count = asyncio.run(
        in_session(
            settings,
            lambda s: endpoints.replay_dead_letters(s, endpoint_id=args.endpoint, delivery_ids=args.delivery or ()),
        )
    )
    print(f"replayed {count} dead letters (same webhook-id and body, a fresh retry budget)")


def cmd_pause(args: argparse.Namespace, settings: Settings) -> None:
    asyncio.run(in_session(settings, lambda s: endpoints.operator_set_paused(s, args.id, True)))
    print(f"endpoint {args.id} paused: its deliveries queue until it is resumed")


def cmd_resume(args: argparse.Namespace, settings: Settings) -> None:
    asyncio.run(in_session(settings, lambda s: endpoints.operator_set_paused(s, args.id, False)))
    print(f"endpoint {args.id} resumed")


async def _work(settings: Settings, once: bool) -> None:
    async with hub_for(settings) as hub:
        worker = Worker(hub)
        if once:
            try:
                print(f"sent {await worker.run_until_idle()} deliveries")
            finally:
                await worker.close()
            for job in worker_jobs():
                print(await job(hub, worker.name, True))
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        print(f"worker {worker.name} delivering webhooks and running connector schedules (Ctrl-C to stop)")
        jobs = [asyncio.create_task(job(hub, worker.name, False)) for job in worker_jobs()]
        try:
            await worker.run_forever(stop)
        finally:
            for task in jobs:
                task.cancel()  # a pull in progress gives its schedule back, to run again at once
                with suppress(asyncio.CancelledError):
                    await task


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    asyncio.run(_work(settings, args.once))


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhooks = commands.add_parser("webhooks", help="webhook endpoints and deliveries").add_subparsers(
        dest="webhooks_command", required=True
    )
    listing = webhooks.add_parser("list", help="every endpoint with its delivery counts")
    listing.add_argument("--deliveries", action="store_true", help="also each endpoint's latest deliveries")
    listing.set_defaults(handler=cmd_list)
    replay = webhooks.add_parser("replay", help="queue dead letters again")
    replay.add_argument("--endpoint", type=int, help="every dead letter of this endpoint")
    replay.add_argument("--delivery", type=int, action="append", help="this dead letter (repeatable)")
    replay.set_defaults(handler=cmd_replay)
    for name, handler, text in (
        ("pause", cmd_pause, "hold an endpoint's deliveries"),
        ("resume", cmd_resume, "send an endpoint's deliveries again"),
    ):
        parser = webhooks.add_parser(name, help=text)
        parser.add_argument("id", type=int)
        parser.set_defaults(handler=handler)

    worker = commands.add_parser(
        "worker", help="deliver webhooks and run connector schedules (run several on PostgreSQL)"
    )
    worker.add_argument("--once", action="store_true", help="deliver and run what is due now, then exit")
    worker.set_defaults(handler=cmd_worker)
