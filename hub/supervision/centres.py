"""Figures per service centre (three-level halls): cases received, accepted, completed, and completed
on time, at each centre and rolled up the tree (a county with its townships and villages).

A case counts at the centre whose window received it; "on time" is a completed case none of whose
items passed its promised deadline (承诺时限), judged on its completion day with its pauses, as the
case view says. Counts only: no applicant data, read by the supervision office (`audit.statistics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.cases.views import any_overdue, load_item_views
from hub.halls.centres import path_to_root
from hub.supervision.performance import Month
from storage.models import Centre
from storage.repositories import centres as repo


@dataclass(frozen=True, slots=True)
class Counts:
    received: int = 0
    accepted: int = 0
    completed: int = 0
    on_time: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.received + other.received,
            self.accepted + other.accepted,
            self.completed + other.completed,
            self.on_time + other.on_time,
        )


@dataclass(frozen=True, slots=True)
class CentreFigures:
    centre: Centre
    own: Counts  # cases received at this centre's windows
    with_below: Counts  # and at every centre below it


async def figures_by_centre(ctx: RequestContext, month: str | None = None) -> list[CentreFigures]:
    """The supervision office's figures per centre, for a month (YYYY-MM) or all time; logged."""
    parsed = Month.parse(month) if month else None
    await guard(ctx, Action.AUDIT_STATISTICS, object_ref=f"supervision:centres:{parsed.label if parsed else 'all'}")
    return await compute_figures(ctx, parsed)


async def compute_figures(ctx: RequestContext, month: Month | None) -> list[CentreFigures]:
    """Every centre's figures, parents before children (the caller has guarded, or is the operator)."""
    since, until = (month.start_instant(), month.end_instant()) if month else (None, None)
    session = ctx.session
    received = await repo.case_counts_by_centre(session, "opened_at", since, until)
    accepted = await repo.case_counts_by_centre(session, "accepted_at", since, until)
    completed = await repo.case_counts_by_centre(session, "completed_at", since, until)
    on_time = await _on_time_by_centre(ctx, since, until)
    centres = await repo.centres(session)
    own = {
        c.id: Counts(received.get(c.id, 0), accepted.get(c.id, 0), completed.get(c.id, 0), on_time.get(c.id, 0))
        for c in centres
    }
    by_id = {c.id: c for c in centres}
    rolled = {c.id: Counts() for c in centres}
    for centre in centres:
        for above in path_to_root(centre, by_id):
            rolled[above.id] += own[centre.id]
    return [CentreFigures(c, own[c.id], rolled[c.id]) for c in centres]


async def _on_time_by_centre(ctx: RequestContext, since: datetime | None, until: datetime | None) -> dict[int, int]:
    cases = await repo.completed_cases_at_centres(ctx.session, since, until)
    counts: dict[int, int] = {}
    for case, items in zip(cases, await load_item_views(ctx, cases), strict=True):
        if case.centre_id is not None and not any_overdue(items):
            counts[case.centre_id] = counts.get(case.centre_id, 0) + 1
    return counts
