"""Background jobs of a served hub: run a job every N seconds until cancelled, surviving its failures.

The served hub's loops (closing abandoned cases, supervision, blob gc) differ only in their job and
interval; a database or store outage must not end one for the life of the process, so a failure is
logged with its traceback and the job runs again at the next interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def every(
    seconds: float,
    job: Callable[[], Awaitable[object]],
    *,
    what: str,
    logger: logging.Logger,
    wait_first: bool = False,
) -> None:
    """Run `job` every `seconds` (not at all if 0 or less), first at once unless `wait_first`."""
    if seconds <= 0:
        return
    if wait_first:
        await asyncio.sleep(seconds)
    while True:
        try:
            await job()
        except Exception:  # an outage must not end the loop; CancelledError is not an Exception
            logger.exception("%s failed; trying again in %.0f s", what, seconds)
        await asyncio.sleep(seconds)
