"""A use case refused after the policy allowed marks its own entries `refused`, and only its own.

The fields of a GraphQL query run at once as tasks sharing one request; a refusal in one must not
turn the entries of another, still running or done, into refusals.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from hub.access.actions import Action
from hub.access.context import all_or_nothing
from hub.access.guard import guard
from hub.errors import NotFound
from storage.models import AccessEntry

APPLICANTS = ["11010519491231002X", "110101199003071233"]


@all_or_nothing
async def _read_then_refuse(ctx, applicant: str) -> None:
    await guard(ctx, Action.APPLICANT_LOOKUP, [applicant], fields=["name"])
    await asyncio.sleep(0.01)  # let the other field record meanwhile
    raise NotFound("gone by now", field="idNumber")


@all_or_nothing
async def _read(ctx, applicant: str) -> str:
    await asyncio.sleep(0.005)
    await guard(ctx, Action.APPLICANT_LOOKUP, [applicant], fields=["name"])
    await asyncio.sleep(0.02)
    return applicant


async def test_concurrent_fields_keep_their_own_outcomes(hub, clerk) -> None:
    ctx = await clerk.context()
    ctx.read_only = True  # as for a GraphQL query
    results = await asyncio.gather(
        _read_then_refuse(ctx, APPLICANTS[0]), _read(ctx, APPLICANTS[1]), return_exceptions=True
    )
    assert isinstance(results[0], NotFound) and results[1] == APPLICANTS[1]
    await ctx.commit()
    await ctx.close()
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.applicant_ref, AccessEntry.outcome, AccessEntry.reason).order_by(AccessEntry.id)
        )
        logged = sorted(tuple(row) for row in rows)
    assert logged == sorted([(APPLICANTS[0], "refused", "NOT_FOUND"), (APPLICANTS[1], "allowed", "")])


async def test_a_refused_write_keeps_only_its_entries(hub, clerk) -> None:
    ctx = await clerk.context()

    @all_or_nothing
    async def refuse(ctx) -> None:
        await guard(ctx, Action.PROFILE_WRITE, [APPLICANTS[0]], fields=["phone"])
        raise NotFound("no applicant with this identifier", field="idNumber")

    with pytest.raises(NotFound):
        await refuse(ctx)
    await ctx.close()
    async with hub.sessions() as session:
        rows = await session.execute(select(AccessEntry.action, AccessEntry.outcome, AccessEntry.reason))
        assert [tuple(row) for row in rows] == [("profile.write", "refused", "NOT_FOUND")]
