"""抽查: the office draws N completed cases per department per month, reproducibly.

The population is each department's cases completed in the month (China dates) that it reviewed,
sorted by receipt number; the draw is `random.Random("<seed>:<month>:<department>").sample(...)`,
with the seed recorded. Anyone holding the seed and the list draws the same cases again
(`draw`); a month is drawn once per department, and asking again answers the recorded draw.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime

from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.errors import InvalidInput
from hub.supervision.performance import Month
from storage.models import Department
from storage.models.supervision import Sample
from storage.repositories import supervision as repo

MAX_PER_DEPARTMENT = 100


def draw(receipts: list[str], per_department: int, seed: int, month: str, department_code: str) -> list[str]:
    """The cases drawn from a sorted population: the same arguments always draw the same cases."""
    chooser = random.Random(f"{seed}:{month}:{department_code}")
    return sorted(chooser.sample(receipts, min(per_department, len(receipts))))


@dataclass(frozen=True, slots=True)
class SampleView:
    month: str
    department: Department
    seed: int
    population: int
    receipt_numbers: tuple[str, ...]
    drawn_at: datetime


def _view(row: Sample, departments: dict[int, Department]) -> SampleView:
    return SampleView(
        row.month,
        departments[row.department_id],
        row.seed,
        row.population,
        tuple(r for r in row.receipt_numbers.split(",") if r),
        row.drawn_at,
    )


async def draw_samples(
    ctx: RequestContext, month: str, per_department: int, seed: int | None = None
) -> list[SampleView]:
    """Draw the month's samples for every department not drawn yet; answer all of the month's."""
    parsed = Month.parse(month)
    if not 1 <= per_department <= MAX_PER_DEPARTMENT:
        raise InvalidInput(f"perDepartment must be between 1 and {MAX_PER_DEPARTMENT}", field="perDepartment")
    if seed is not None and not 0 <= seed < 2**31:
        raise InvalidInput("seed must be between 0 and 2^31 - 1", field="seed")
    await guard(ctx, Action.CASE_SEARCH, object_ref=f"supervision:sample:{parsed.label}")
    seed = secrets.randbits(31) if seed is None else seed
    departments = await repo.departments(ctx.session)
    drawn = await repo.samples(ctx.session, parsed.label)
    population = await repo.completed_receipts_by_department(ctx.session, parsed.start_instant(), parsed.end_instant())
    now = ctx.hub.clock()
    new = [
        Sample(
            month=parsed.label,
            department_id=department_id,
            seed=seed,
            population=len(receipts),
            receipt_numbers=",".join(
                draw(receipts, per_department, seed, parsed.label, departments[department_id].code)
            ),
            drawn_at=now,
            drawn_by_principal_id=ctx.caller.principal_id,
        )
        for department_id, receipts in population.items()
        if department_id not in drawn
    ]
    await repo.add_samples(ctx.session, new)
    await ctx.commit()
    rows = {**drawn, **{row.department_id: row for row in new}}
    return sorted((_view(row, departments) for row in rows.values()), key=lambda v: v.department.code)


async def samples_of(ctx: RequestContext, month: str) -> list[SampleView]:
    parsed = Month.parse(month)
    await guard(ctx, Action.CASE_SEARCH, object_ref=f"supervision:sample:{parsed.label}")
    departments = await repo.departments(ctx.session)
    rows = await repo.samples(ctx.session, parsed.label)
    return sorted((_view(row, departments) for row in rows.values()), key=lambda v: v.department.code)
