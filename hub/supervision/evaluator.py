"""One evaluation of everything the supervision office watches, and the background loop that runs it.

An evaluation judges the timing of every open case (warnings on change) and reads the access log
from its watermark on (alerts); it is one transaction under a lock, so two hub processes never
evaluate at once and a failed run leaves nothing half done. Each served process runs the loop; a
busy lock means another process is on it (the same pattern as the log's sequencer).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from hub import metrics
from hub.access.actions import Action
from hub.access.context import Hub, RequestContext
from hub.access.guard import guard
from hub.audit.sequencer import Sequencer
from hub.calendar.workdays import local_date
from hub.periodic import every
from hub.supervision.alerts import escalate_late
from hub.supervision.anomalies import WATERMARK, AnomalyRun, Progress, evaluate_anomalies
from hub.supervision.rules import rules_in_force
from hub.supervision.timing import TimingRun, evaluate_timing
from storage.repositories import supervision as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    timing: TimingRun
    anomalies: AnomalyRun
    escalated: int  # alerts whose explanation came late


async def evaluate(hub: Hub, progress: Progress | None = None) -> EvaluationRun | None:
    """Evaluate now; None if another process is evaluating."""
    # Judge the log as far as it goes: sequence what is queued first, unless a sequencer is at it.
    await Sequencer(hub).integrate(wait=False)
    async with hub.sessions() as session:
        if not await repo.lock_evaluation(session):
            return None
        rules = await rules_in_force(session)
        now = hub.clock()
        timing = await evaluate_timing(session, now, rules)
        anomalies = await evaluate_anomalies(hub, session, rules, progress)
        escalated = await escalate_late(session, local_date(now), now)
        await session.commit()
        metrics.SUPERVISION_WARNINGS.inc(timing.warnings)
        for rule, count in anomalies.alerts_by_rule.items():
            metrics.SUPERVISION_ALERTS.labels(rule=rule).inc(count)
        return EvaluationRun(timing, anomalies, escalated)


async def judge_new_entries(hub: Hub) -> AnomalyRun | None:
    """The anomaly rules alone over the log's newly sequenced entries, if there are any (a read
    first: on SQLite the evaluation's lock is the database's write lock). None if there were none or
    another process is evaluating."""
    async with hub.sessions() as session:
        if await repo.sequenced_size(session) <= await repo.watermark(session, WATERMARK):
            return None
    async with hub.sessions() as session:
        if not await repo.lock_evaluation(session):
            return None
        anomalies = await evaluate_anomalies(hub, session, await rules_in_force(session))
        await session.commit()
    for rule, count in anomalies.alerts_by_rule.items():
        metrics.SUPERVISION_ALERTS.labels(rule=rule).inc(count)
    return anomalies


async def run_forever(hub: Hub) -> None:
    """The background loops of a served hub (app/asgi.py): the whole evaluation every
    HUB_SUPERVISION_INTERVAL seconds (0 switches supervision off), and the log's new entries judged
    every HUB_SUPERVISION_LOG_INTERVAL seconds in between (0 switches that off)."""
    settings = hub.settings
    if settings.supervision_interval <= 0:
        return
    await asyncio.gather(
        every(settings.supervision_interval, lambda: evaluate(hub), what="supervision evaluation", logger=log),
        every(
            settings.supervision_log_interval,
            lambda: judge_new_entries(hub),
            what="supervision of new log entries",
            logger=log,
            wait_first=True,
        ),
    )


async def run_now(ctx: RequestContext) -> EvaluationRun | None:
    """The office asks for an evaluation now (logged); None if one is running in another process."""
    await guard(ctx, Action.AUDIT_STATISTICS, object_ref="supervision:run")
    await ctx.commit()
    return await evaluate(ctx.hub)
