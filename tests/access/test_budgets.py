"""Each principal's budget of query cost: one caller spending without pause is refused, with when
to come back, and logged; everyone else is served as before."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from hub.access.budgets import MAX_BUCKETS, CostBudgets
from schema.limits import cost_points
from storage.models import AccessEntry

VIEWER = "{ viewer { name } }"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_pays_while_it_holds_points_and_refills_at_its_rate() -> None:
    clock = Clock()
    budgets = CostBudgets(10, 30, clock=clock)
    assert budgets.spend(1, 20) is None
    refusal = budgets.spend(1, 20)
    assert refusal is not None and (refusal.cost, refusal.remaining, refusal.retry_after_seconds) == (20, 10, 1)
    assert budgets.spend(2, 20) is None  # another principal has a bucket of its own
    clock.now += 1.0
    assert budgets.remaining(1) == 20 and budgets.spend(1, 20) is None
    clock.now += 100.0
    assert budgets.remaining(1) == 30  # never more than the burst


def test_a_request_costing_more_than_the_bucket_waits_for_a_full_one() -> None:
    clock = Clock()
    budgets = CostBudgets(10, 30, clock=clock)
    assert budgets.spend(1, 500) is None
    refusal = budgets.spend(1, 500)
    assert refusal is not None and refusal.retry_after_seconds == 3


def test_no_rate_is_no_limit_and_the_buckets_are_bounded() -> None:
    assert CostBudgets(0, 30).spend(1, 10**9) is None
    clock = Clock()
    budgets = CostBudgets(10, 30, clock=clock)
    for principal in range(MAX_BUCKETS + 5):
        budgets.spend(principal, 1)
    assert len(budgets) <= MAX_BUCKETS


def test_points_count_fields_per_hundred_and_the_document_per_kib() -> None:
    assert cost_points(0, 19) == 1
    assert cost_points(184, 349) == 2
    assert cost_points(9_991, 357) == 100
    assert cost_points(1_240, 32 * 1024 - 1) == 13 + 31


async def test_a_caller_over_its_budget_is_refused_with_when_to_retry_and_logged(
    hub, client, clerk, tax_system
) -> None:
    clock = Clock()
    hub.cost_budgets = CostBudgets(1, 3, clock=clock)
    for _ in range(3):
        assert (await client.post(VIEWER, token=tax_system.token)).status_code == 200
    refused = await client.post(VIEWER, token=tax_system.token)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "cost": 1, "remaining": 0, "retryAfter": 1}
    # Another principal is served meanwhile: each caller spends its own budget.
    assert (await client.post(VIEWER, token=clerk.token)).status_code == 200
    clock.now += 1.0
    assert (await client.post(VIEWER, token=tax_system.token)).status_code == 200

    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.principal_id, AccessEntry.outcome, AccessEntry.object_ref, AccessEntry.reason).where(
                AccessEntry.action == "auth.rate_limited"
            )
        )
        logged = list(rows)
    assert len(logged) == 1
    principal_id, outcome, object_ref, reason = logged[0]
    assert principal_id is not None and outcome == "refused" and object_ref == "cost:1"
    assert reason.startswith("RATE_LIMITED")


async def test_a_document_refused_for_its_shape_costs_nothing(hub, client, tax_system) -> None:
    hub.cost_budgets = CostBudgets(1, 3, clock=Clock())
    too_many_aliases = "{ " + " ".join(f"a{n}: viewer {{ name }}" for n in range(40)) + " }"
    for _ in range(5):
        answer = await client.post(too_many_aliases, token=tax_system.token)
        assert answer.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    statuses = [(await client.post(VIEWER, token=tax_system.token)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_a_refusal_is_answered_after_the_pause_and_holds_no_connection(hub, client, tax_system) -> None:
    """A caller ignoring Retry-After gets its refusals slowly, so they cost the hub little."""
    hub.cost_budgets = CostBudgets(1, 1, clock=Clock())
    hub.settings.rate_limit_pause_seconds = 0.4
    assert (await client.post(VIEWER, token=tax_system.token)).status_code == 200
    started = time.monotonic()
    waiting = asyncio.create_task(client.post(VIEWER, token=tax_system.token))
    await asyncio.sleep(0.25)
    assert not waiting.done() and hub.engine.pool.checkedout() == 0  # nothing is held while it waits
    refused = await waiting
    assert refused.status_code == 429 and time.monotonic() - started >= 0.4

    hub.settings.rate_limit_pause_seconds = 0
    started = time.monotonic()
    assert (await client.post(VIEWER, token=tax_system.token)).status_code == 429
    assert time.monotonic() - started < 0.4
