"""The hub's background jobs: the log's sequencer, supervision, abandoned cases, blob collection.

A single `hub serve` runs them beside its requests. `hub serve --workers N` runs them in a process
of their own (app/serving.py) and its workers only serve: a job's batch, hashing thousands of log
entries or judging them, held up every request of its worker while it ran on the event loop (the
clerk's query's p99 halved without them, docs/performance.md); in a process of its own the system
schedules it between requests instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from hub.access.context import Hub
from hub.audit.sequencer import Sequencer
from hub.cases.closing import close_abandoned_forever
from hub.documents.gc import collect_blobs_forever
from hub.supervision import evaluator as supervision

if TYPE_CHECKING:
    from hub.settings import Settings


# What start_background_jobs runs, as `hub background` names them when it starts.
JOBS = (
    "the access log's sequencer and checkpoints",
    "supervision",
    "closing abandoned cases",
    "collecting stale blobs",
)


def start_background_jobs(hub: Hub) -> list[asyncio.Task[None]]:
    return [
        # Sequences and signs the access log (hub/audit); one process at a time holds its lock.
        asyncio.create_task(Sequencer(hub).run_forever()),
        # Closes abandoned cases (hub/cases/closing.py); safe with several processes at once.
        asyncio.create_task(close_abandoned_forever(hub)),
        # Collects blobs that crashed writes left behind (hub/documents/gc.py).
        asyncio.create_task(collect_blobs_forever(hub)),
        # Evaluates supervision; one process at a time gets the lock (hub/supervision).
        asyncio.create_task(supervision.run_forever(hub)),
    ]


async def stop(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def run_background_jobs(settings: Settings | None = None, *, announce: bool = False) -> None:
    """The jobs alone, until SIGTERM or SIGINT: the background process of `hub serve --workers N`,
    and `hub background`, which runs them beside serving processes that do not
    (`HUB_SERVE_BACKGROUND_JOBS=false`, docs/deployment.md). On uvloop, as the workers serve."""
    import signal

    import uvloop

    from hub.services import build_hub
    from hub.settings import get_settings

    async def main() -> None:
        hub = build_hub(settings or get_settings())
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        tasks = start_background_jobs(hub)
        if announce:
            print(f"background jobs running: {', '.join(JOBS)} (SIGTERM or Ctrl-C to stop)", flush=True)
        try:
            await stopping.wait()
        finally:
            await stop(tasks)
            await hub.close()

    uvloop.run(main())
