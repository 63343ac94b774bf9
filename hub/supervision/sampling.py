"""抽查: the office draws N completed cases per department per month, reproducibly.

The population is each department's cases completed in the month (China dates) that it reviewed,
sorted by receipt number; the draw is `random.Random("<seed>:<month>:<department>").sample(...)`,
with the seed recorded. Anyone holding the seed and the list draws the same cases again
(`draw`); a month is drawn once per department, and asking again answers the recorded draw.

Decisions taken under a chief representative's authorisation (首席代表) are sampled where they exist:
if the department has such cases in the month and none was drawn, one of them is drawn as well,
with the same seed (`draw_with_chief_decisions`). Every sample lists, for its drawn cases, the
authorisations their decisions were taken under.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime

from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.authorisations.grants import AuthorisationView, authorisation_views
from hub.errors import InvalidInput
from hub.supervision.performance import Month
from storage.models import Department
from storage.models.supervision import Sample
from storage.repositories import authorisations as authorisations_repo
from storage.repositories import supervision as repo

MAX_PER_DEPARTMENT = 100


def draw(receipts: list[str], per_department: int, seed: int, month: str, department_code: str) -> list[str]:
    """The cases drawn from a sorted population: the same arguments always draw the same cases."""
    chooser = random.Random(f"{seed}:{month}:{department_code}")
    return sorted(chooser.sample(receipts, min(per_department, len(receipts))))


def draw_with_chief_decisions(
    receipts: list[str], chief_decided: list[str], per_department: int, seed: int, month: str, department_code: str
) -> list[str]:
    """`draw`, plus one case decided under an authorisation if the department has some and none was drawn."""
    drawn = draw(receipts, per_department, seed, month, department_code)
    if chief_decided and not set(drawn) & set(chief_decided):
        drawn = sorted([*drawn, *draw(chief_decided, 1, seed, month, f"{department_code}:chief")])
    return drawn


@dataclass(frozen=True, slots=True)
class AuthorisedDecision:
    """A drawn case whose department decided it under a chief representative's authorisation."""

    receipt_number: str
    authorisation: AuthorisationView


@dataclass(frozen=True, slots=True)
class SampleView:
    month: str
    department: Department
    seed: int
    population: int
    receipt_numbers: tuple[str, ...]
    drawn_at: datetime
    authorised_decisions: tuple[AuthorisedDecision, ...] = ()


async def _views(ctx: RequestContext, rows: list[Sample], departments: dict[int, Department]) -> list[SampleView]:
    """The samples by department code, each with the authorisations its drawn cases were decided under."""
    drawn = {row.department_id: [r for r in row.receipt_numbers.split(",") if r] for row in rows}
    authorised = await authorisations_repo.authorised_opinions_of_cases(
        ctx.session, [r for receipts in drawn.values() for r in receipts]
    )
    loaded = await authorisation_views(ctx, sorted({a for per in authorised.values() for _, a in per}))
    views = [
        SampleView(
            row.month,
            departments[row.department_id],
            row.seed,
            row.population,
            tuple(drawn[row.department_id]),
            row.drawn_at,
            tuple(
                AuthorisedDecision(receipt, loaded[authorisation_id])
                for receipt in drawn[row.department_id]
                for department_id, authorisation_id in authorised.get(receipt, [])
                if department_id == row.department_id
            ),
        )
        for row in rows
    ]
    return sorted(views, key=lambda v: v.department.code)


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
    authorised = await authorisations_repo.authorised_opinions_of_cases(
        ctx.session, [r for receipts in population.values() for r in receipts]
    )
    now = ctx.hub.clock()
    new = [
        Sample(
            month=parsed.label,
            department_id=department_id,
            seed=seed,
            population=len(receipts),
            receipt_numbers=",".join(
                draw_with_chief_decisions(
                    receipts,
                    [r for r in receipts if any(d == department_id for d, _ in authorised.get(r, []))],
                    per_department,
                    seed,
                    parsed.label,
                    departments[department_id].code,
                )
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
    return await _views(ctx, list(rows.values()), departments)


async def samples_of(ctx: RequestContext, month: str) -> list[SampleView]:
    parsed = Month.parse(month)
    await guard(ctx, Action.CASE_SEARCH, object_ref=f"supervision:sample:{parsed.label}")
    departments = await repo.departments(ctx.session)
    rows = await repo.samples(ctx.session, parsed.label)
    return await _views(ctx, list(rows.values()), departments)
