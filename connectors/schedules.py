"""Connector schedules: pulls the workers run every N seconds (docs/connectors.md).

`hub connector schedule add` stores what a pull-rest or pull-sql command line would say (its source,
options, purpose and token file) with an interval; every `hub worker` process (and `hub serve` on
SQLite) looks for due schedules every `HUB_CONNECTOR_SCHEDULE_POLL_SECONDS` and runs them, each run
recorded in `connector_runs` like a run by hand.

One run at a time per schedule, across processes: a worker first takes the schedule's lease with a
conditional update that only one worker's statement can match (the schedule is due and nobody holds
an unexpired lease), renews it while the pull runs, and gives it back with the next run's time. A
worker that dies mid-run stops renewing; once its lease expires another worker runs the schedule.
Neither the token nor a database password is stored: the token file and the environment variable
holding the database URL are read at each run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.issued import check_source_url
from connectors.profile_feed import FeedSummary
from connectors.pull_rest import RestSource, pull_rest
from connectors.pull_sql import check_query, pull_sql
from connectors.runs import recorded
from hub.access.context import Hub
from hub.access.principals import principal_token
from hub.errors import HubError, InvalidInput, NotFound, SourceUnavailable
from hub.periodic import every
from hub.settings import Settings
from storage.models.base import utcnow
from storage.models.connectors import ConnectorSchedule
from storage.repositories import connectors as repo

log = logging.getLogger(__name__)

PULL_REST, PULL_SQL = "pull-rest", "pull-sql"
RUN_KINDS = {PULL_REST: "rest", PULL_SQL: "sql"}  # as connector_runs names them
ENVIRONMENT_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIN_INTERVAL_SECONDS = 10


@dataclass(frozen=True, slots=True)
class PullOptions:
    """A schedule's pull options, as the pull-rest and pull-sql commands take them."""

    query: str | None = None
    watermark_column: str | None = None
    watermark_field: str = "updatedAt"
    material_type: str | None = None
    rate: float = 5.0
    retries: int = 4

    def as_mapping(self, kind: str) -> dict[str, Any]:
        common = {"materialType": self.material_type}
        if kind == PULL_SQL:
            return {"query": self.query, "watermarkColumn": self.watermark_column, **common}
        return {"watermarkField": self.watermark_field, "rate": self.rate, "retries": self.retries, **common}


async def add_schedule(
    session: AsyncSession,
    settings: Settings,
    name: str,
    kind: str,
    source: str,
    options: PullOptions,
    purpose: str,
    token_file: str,
    interval_seconds: int,
) -> ConnectorSchedule:
    """Check and store a schedule (caller commits); its first run is due at once."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("a schedule's name is 1 to 64 characters", field="name")
    if kind not in RUN_KINDS:
        raise InvalidInput(f"the kind is {' or '.join(RUN_KINDS)}", field="kind")
    if interval_seconds < MIN_INTERVAL_SECONDS:
        raise InvalidInput(f"the interval is at least {MIN_INTERVAL_SECONDS} seconds", field="every")
    if not purpose.strip():
        raise InvalidInput("a scheduled pull declares its purpose", field="purpose")
    principal_token(token_file, "")  # readable and not empty now; read again at each run
    if kind == PULL_SQL:
        if not ENVIRONMENT_VARIABLE.match(source):
            raise InvalidInput("a pull-sql source is the name of an environment variable", field="source")
        if options.query is None or options.watermark_column is None:
            raise InvalidInput("a pull-sql schedule needs --query and --watermark-column", field="query")
        check_query(options.query, options.watermark_column)
    else:
        check_source_url(source, settings, "url")
    if await repo.schedule_by_name(session, name) is not None:
        raise InvalidInput(f"a schedule named {name} exists; remove it first", field="name")
    now = utcnow()
    return await repo.add_schedule(
        session,
        ConnectorSchedule(
            name=name,
            kind=kind,
            source=source,
            mapping=json.dumps(options.as_mapping(kind), sort_keys=True),
            purpose=purpose,
            token_file=token_file,
            interval_seconds=interval_seconds,
            next_run_at=now,
            created_at=now,
        ),
    )


async def remove_schedule(session: AsyncSession, name: str) -> None:
    """Remove a schedule (caller commits); a run in progress finishes and is recorded."""
    if not await repo.remove_schedule(session, name):
        raise NotFound(f"no schedule named {name}", field="name")


def _pull(hub: Hub, schedule: ConnectorSchedule) -> Callable[[], Awaitable[FeedSummary]]:
    mapping: dict[str, Any] = json.loads(schedule.mapping)

    def report(line: str) -> None:
        log.info("scheduled pull %s: %s", schedule.name, line)

    async def pull() -> FeedSummary:
        token = principal_token(schedule.token_file, "")
        try:
            if schedule.kind == PULL_SQL:
                url = os.environ.get(schedule.source, "").strip()
                if not url:
                    raise InvalidInput(f"no source database: the worker's environment has no {schedule.source}")
                return await pull_sql(
                    hub,
                    url,
                    mapping["query"],
                    mapping["watermarkColumn"],
                    token,
                    schedule.purpose,
                    report=report,
                    material_type=mapping.get("materialType"),
                )
            source = RestSource(
                url=schedule.source,
                watermark_field=mapping["watermarkField"],
                material_type=mapping.get("materialType"),
                rate=mapping["rate"],
                retries=mapping["retries"],
            )
            return await pull_rest(hub, source, token, schedule.purpose, report=report)
        except HubError:
            raise
        except Exception as error:  # a source database away, say: recorded as the run's error
            log.warning("scheduled pull %s failed", schedule.name, exc_info=True)
            raise SourceUnavailable(f"the run failed: {type(error).__name__}: {str(error)[:200]}") from error

    return pull


async def _renew(hub: Hub, schedule_id: int, owner: str, lease: timedelta, done: asyncio.Event) -> None:
    """Keep the lease while the pull runs: renewed at a third of its length, until `done`. Stopped
    between statements, never cancelled inside one (on SQLite that could leave a write open)."""
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), lease.total_seconds() / 3)
        if done.is_set():
            return
        try:
            async with hub.sessions() as session:
                if not await repo.renew_lease(session, schedule_id, owner, utcnow() + lease):
                    log.warning("schedule %s: lease lost to another worker", schedule_id)
                await session.commit()
        except Exception:  # the database briefly away: try again at the next renewal
            log.warning("schedule %s: could not renew its lease", schedule_id, exc_info=True)


async def run_schedule_if_free(hub: Hub, schedule: ConnectorSchedule, owner: str) -> bool:
    """Take the schedule's lease and run it; false if another worker holds it (or ran it already)."""
    lease = timedelta(seconds=hub.settings.connector_schedule_lease_seconds)
    owner = owner[:64]
    now = utcnow()
    async with hub.sessions() as session:
        taken = await repo.take_schedule(session, schedule.id, owner, now, now + lease)
        await session.commit()
    if not taken:
        return False
    next_run_at = schedule.next_run_at  # if this run is cancelled, another worker takes it at once
    done = asyncio.Event()
    renewing = asyncio.create_task(_renew(hub, schedule.id, owner, lease, done))
    try:
        with suppress(HubError):  # recorded with the run
            await recorded(hub, schedule.name, RUN_KINDS[schedule.kind], _pull(hub, schedule))
        next_run_at = max(now + timedelta(seconds=schedule.interval_seconds), utcnow())
    finally:
        done.set()
        giving_back = asyncio.ensure_future(_give_back(hub, schedule.id, owner, next_run_at, renewing))
        try:
            await asyncio.shield(giving_back)
        except asyncio.CancelledError:
            # A worker stopping gracefully (its process's shutdown) gives the lease back before it
            # stops, rather than leave the schedule to wait for the lease to expire.
            await giving_back
            raise
    return True


async def _give_back(
    hub: Hub, schedule_id: int, owner: str, next_run_at: datetime, renewing: asyncio.Task[None]
) -> None:
    await renewing
    async with hub.sessions() as session:
        await repo.release_schedule(session, schedule_id, owner, next_run_at)
        await session.commit()


async def run_due_schedules(hub: Hub, owner: str) -> int:
    """Run every schedule that is due and free, one after another; returns how many this worker ran."""
    async with hub.sessions() as session:
        due = await repo.due_schedules(session, utcnow())
    ran = 0
    for schedule in due:
        ran += await run_schedule_if_free(hub, schedule, owner)
    return ran


async def run_schedules_forever(hub: Hub, owner: str) -> None:
    """Look for due schedules every `HUB_CONNECTOR_SCHEDULE_POLL_SECONDS` until cancelled."""
    await every(
        hub.settings.connector_schedule_poll_seconds,
        lambda: run_due_schedules(hub, owner),
        what="connector schedules",
        logger=log,
    )


async def worker_job(hub: Hub, owner: str, once: bool) -> str:
    """What `hub worker` (and `hub serve` on SQLite) runs beside the webhook worker, through the
    `hub.worker_jobs` entry point: the due schedules once (a line to print), or until cancelled."""
    if once:
        return f"ran {await run_due_schedules(hub, owner)} scheduled connector pulls"
    await run_schedules_forever(hub, owner)
    return ""


def describe(schedule: ConnectorSchedule, now: datetime) -> str:
    """One line for the operator (no token, no database URL: only where they are read from)."""
    mapping = json.loads(schedule.mapping)
    what = mapping.get("query") if schedule.kind == PULL_SQL else schedule.source
    state = f"running on {schedule.lease_owner}" if schedule.lease_until and schedule.lease_until > now else "idle"
    return (
        f"{schedule.name} ({schedule.kind}) every {schedule.interval_seconds} s, next {schedule.next_run_at:%Y-%m-%d %H:%M:%S},"
        f" {state}: {what}; purpose {schedule.purpose}; token file {schedule.token_file}"
    )
