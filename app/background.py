"""The hub's background jobs: the log's sequencer, supervision, abandoned cases, blob collection.

A single `hub serve` runs them beside its requests. `hub serve --workers N` runs them in a process
of their own (app/serving.py) and its workers only serve: a job's batch, hashing thousands of log
entries or judging them, held up every request of its worker while it ran on the event loop (the
clerk's query's p99 halved without them, docs/performance.md); in a process of its own the system
schedules it between requests instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import Collector

from hub.access.context import Hub
from hub.audit.lag import seconds_behind_from_thread
from hub.audit.sequencer import Sequencer
from hub.cases.closing import close_abandoned_forever
from hub.documents.gc import collect_blobs_forever
from hub.metrics import AUDIT_LOG_LAG, REGISTRY
from hub.supervision import evaluator as supervision

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.metrics_core import Metric

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


class _LagRefreshed(Collector):
    """The process's registry, with the log's lag read from the database first, at each scrape."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub, self.loop = hub, loop

    def collect(self) -> Iterable[Metric]:
        AUDIT_LOG_LAG.set(seconds_behind_from_thread(self.hub, self.loop))
        return REGISTRY.collect()

    def restricted_registry(self, names: Iterable[str]) -> Collector:  # a scrape asking `?name[]=…`
        AUDIT_LOG_LAG.set(seconds_behind_from_thread(self.hub, self.loop))
        return REGISTRY.restricted_registry(names)


def serve_metrics(hub: Hub, loop: asyncio.AbstractEventLoop, host: str, port: int) -> WSGIServer:
    """The process's /metrics on a thread of its own: the sequencer's and supervision's counters
    (alarms such as `hub_audit_sequencer_halted_total` are raised here, not in a serving process)
    and the log's lag."""
    from prometheus_client import start_http_server

    server, _ = start_http_server(port, addr=host, registry=_LagRefreshed(hub, loop))
    return server


def run_background_jobs(
    settings: Settings | None = None, *, announce: bool = False, metrics_at: tuple[str, int] | None = None
) -> None:
    """The jobs alone, until SIGTERM or SIGINT: the background process of `hub serve --workers N`,
    and `hub background`, which runs them beside serving processes that do not
    (`HUB_SERVE_BACKGROUND_JOBS=false`, docs/deployment.md), with its /metrics at `metrics_at`.
    On uvloop, as the workers serve."""
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
        metrics = None
        if metrics_at is not None:
            try:
                metrics = serve_metrics(hub, loop, *metrics_at)
            except OSError as error:  # the port taken (another process's metrics), or not our address
                await hub.close()
                host, port = metrics_at
                raise SystemExit(f"error: cannot serve metrics on {host}:{port}: {error.strerror}") from None
        tasks = start_background_jobs(hub)
        if announce:
            where = (
                f"metrics at http://{metrics_at[0]}:{metrics.server_port}/metrics"
                if metrics and metrics_at
                else "no metrics"
            )
            print(f"background jobs running: {', '.join(JOBS)}; {where} (SIGTERM or Ctrl-C to stop)", flush=True)
        try:
            await stopping.wait()
        finally:
            await stop(tasks)
            if metrics is not None:
                metrics.shutdown()
                metrics.server_close()
            await hub.close()

    uvloop.run(main())
