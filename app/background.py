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
from hub.audit.lag import refresh_lag_gauge_from_thread
from hub.audit.sequencer import Sequencer
from hub.cases.closing import close_abandoned_forever
from hub.documents.gc import collect_blobs_forever
from hub.metrics import REGISTRY
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
        refresh_lag_gauge_from_thread(self.hub, self.loop)
        return REGISTRY.collect()

    def restricted_registry(self, names: Iterable[str]) -> Collector:  # a scrape asking `?name[]=…`
        refresh_lag_gauge_from_thread(self.hub, self.loop)
        return REGISTRY.restricted_registry(names)


def serve_metrics(hub: Hub, loop: asyncio.AbstractEventLoop, host: str, port: int) -> WSGIServer:
    """The process's /metrics on a thread of its own: the sequencer's and supervision's counters
    (alarms such as `hub_audit_sequencer_halted_total` are raised here, not in a serving process)
    and the log's lag."""
    from prometheus_client import start_http_server

    server, _ = start_http_server(port, addr=host, registry=_LagRefreshed(hub, loop))
    return server


class CannotStart(Exception):
    """The background process cannot start (its metrics port cannot be bound); the message says why."""


def run_background_jobs(settings: Settings | None = None, *, announce: bool = False) -> None:
    """The jobs alone, until SIGTERM or SIGINT: the background process of `hub serve --workers N`,
    and `hub background`, which runs them beside serving processes that do not
    (`HUB_SERVE_BACKGROUND_JOBS=false`, docs/deployment.md); with the process's /metrics where
    `HUB_BACKGROUND_METRICS_PORT` says. On uvloop, as the workers serve. Raises CannotStart."""
    import signal

    import uvloop

    from hub.services import build_hub
    from hub.settings import get_settings

    settings = settings or get_settings()
    host, port = settings.background_metrics_host, settings.background_metrics_port

    async def main() -> None:
        hub = build_hub(settings)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        metrics = None
        if port is not None:
            try:
                metrics = serve_metrics(hub, loop, host, port)
            except OSError as error:  # the port taken (another process's metrics), or not our address
                await hub.close()
                raise CannotStart(f"error: cannot serve metrics on {host}:{port}: {error.strerror}") from None
        tasks = start_background_jobs(hub)
        if announce:
            where = f"metrics at http://{host}:{metrics.server_port}/metrics" if metrics else "no metrics"
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
