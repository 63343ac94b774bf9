"""How far the log's tree is behind the entries: the gauge an operator alerts on.

Entries join the tree only when a sequencer runs (a served hub's background jobs, or `hub
background` where serving processes leave them out, docs/deployment.md). If none runs, reads and
writes still answer and their entries are stored, but search, "who read my data", supervision and
checkpoints stop moving; this is what shows it from outside.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from hub.access.context import Hub
from hub.metrics import AUDIT_LOG_LAG
from storage.repositories import audit as repo

# A scrape waits no longer than this for the database (Prometheus's own timeout is 10 s by default).
SCRAPE_READ_SECONDS = 2.0


async def seconds_behind(hub: Hub, now: datetime) -> float:
    """How long the oldest entry not yet in the tree has waited; 0 when every entry is in it."""
    async with hub.sessions() as session:
        oldest = await repo.oldest_outside_tree(session)
    return 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)


async def lag_for_scrape(hub: Hub) -> float:
    """`seconds_behind` now, or NaN when the database cannot say within SCRAPE_READ_SECONDS, so that
    a /metrics scrape still answers with the process's other figures."""
    try:
        async with asyncio.timeout(SCRAPE_READ_SECONDS):
            return await seconds_behind(hub, hub.clock())
    except (SQLAlchemyError, OSError, TimeoutError):
        return math.nan


async def refresh_lag_gauge(hub: Hub) -> None:
    """Set `hub_audit_log_lag_seconds` for a scrape answered on the hub's event loop (`hub serve`)."""
    AUDIT_LOG_LAG.set(await lag_for_scrape(hub))


def refresh_lag_gauge_from_thread(hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
    """The same, for a scrape answered on another thread (the metrics server of the background
    process), the read running on the hub's `loop`; NaN too if that loop is too busy to run it."""
    future = asyncio.run_coroutine_threadsafe(lag_for_scrape(hub), loop)
    try:
        AUDIT_LOG_LAG.set(future.result(timeout=SCRAPE_READ_SECONDS + 1))
    except TimeoutError:
        future.cancel()
        AUDIT_LOG_LAG.set(math.nan)
