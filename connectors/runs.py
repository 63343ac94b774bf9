"""The record of connector runs (`connector_runs`): what each run read, applied and refused, so the
operator sees scheduled and manual runs alike with `hub connector runs`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime

from connectors.profile_feed import FeedSummary
from hub.access.context import Hub
from hub.errors import HubError
from storage.models.base import utcnow
from storage.models.connectors import ConnectorRun
from storage.repositories import connectors as repo


async def record_run(
    hub: Hub, name: str, kind: str, started_at: datetime, summary: FeedSummary | None, error: HubError | None
) -> None:
    outcomes = {result.value: n for result, n in summary.outcomes.items()} if summary else {}
    outcomes.update({f"material {k}": n for k, n in summary.materials.items()} if summary else {})
    async with hub.sessions() as session:
        await repo.add_run(
            session,
            ConnectorRun(
                name=name[:64],
                kind=kind,
                started_at=started_at,
                finished_at=utcnow(),
                records=summary.records if summary else 0,
                outcomes=json.dumps(outcomes, sort_keys=True),
                refusals=json.dumps(dict(summary.refused) if summary else {}, sort_keys=True),
                error=f"{error.code}: {error.message}" if error else None,
            ),
        )
        await session.commit()


async def recorded(hub: Hub, name: str, kind: str, pull: Callable[[], Awaitable[FeedSummary]]) -> FeedSummary:
    """Run a pull and record the run, finished or stopped by a `HubError` (which is raised again)."""
    started = utcnow()
    try:
        summary = await pull()
    except HubError as error:
        await record_run(hub, name, kind, started, None, error)
        raise
    await record_run(hub, name, kind, started, summary, None)
    return summary


def describe(run: ConnectorRun) -> str:
    """One line for the operator: when, which, and what happened."""
    outcomes = ", ".join(f"{n} {k}" for k, n in json.loads(run.outcomes).items()) or "nothing applied"
    refusals = json.loads(run.refusals)
    refused = sum(refusals.values())
    by_code = ", ".join(f"{code} {n}" for code, n in refusals.items())
    text = f"{run.started_at:%Y-%m-%d %H:%M:%S} {run.name} ({run.kind}): {run.records} records, {outcomes}, {refused} refused"
    text += f" ({by_code})" if by_code else ""
    return text + (f"; stopped: {run.error}" if run.error else "")
