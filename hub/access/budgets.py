"""Each principal's budget of query cost: a token bucket of points, refilled every second.

The model is GitHub's GraphQL rate limit: a query costs points from what it asks for, measured
before it runs, and a caller spends them from a budget that refills at a steady rate. One caller
sending the most expensive query the limits accept, without pause, then gets its share of the
hub and no more; everyone else's requests are served as before. A request the budget cannot pay
for is refused with RATE_LIMITED and the seconds after which it could be paid (`Retry-After`).

The buckets live in the process: with N hub processes a principal may spend N times the budget.
Keeping them in the database would add a write to every read; the limit is there to keep one
caller from crowding out the others on a worker, which a per-process budget does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# A process keeps at most this many buckets; past it, the full ones (no different from a new one) go.
MAX_BUCKETS = 10_000


@dataclass(slots=True)
class _Bucket:
    points: float
    at: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """The budget cannot pay for a request now: what it cost, what was left, and when it could pay."""

    cost: int
    remaining: int
    retry_after_seconds: int


class CostBudgets:
    """Buckets of `burst` points per principal, refilled at `points_per_second`; 0 points per second: no limit."""

    def __init__(self, points_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.points_per_second = points_per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def enabled(self) -> bool:
        return self.points_per_second > 0

    def spend(self, principal_id: int, cost: int) -> Refusal | None:
        """Take `cost` points from the principal's bucket, or say why not (and take nothing).

        A request costing more than the bucket holds is charged the whole bucket: it waits for a
        full one instead of never being served."""
        if not self.enabled:
            return None
        now = self._clock()
        charge = min(cost, self.burst)
        bucket = self._buckets.get(principal_id)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[principal_id] = _Bucket(float(self.burst), now)
        else:
            bucket.points = min(float(self.burst), bucket.points + (now - bucket.at) * self.points_per_second)
            bucket.at = now
        if bucket.points >= charge:
            bucket.points -= charge
            return None
        wait = (charge - bucket.points) / self.points_per_second
        return Refusal(cost, math.floor(bucket.points), max(1, math.ceil(wait)))

    def remaining(self, principal_id: int) -> int:
        bucket = self._buckets.get(principal_id)
        if bucket is None:
            return self.burst
        elapsed = self._clock() - bucket.at
        return math.floor(min(float(self.burst), bucket.points + elapsed * self.points_per_second))

    def _forget_full(self, now: float) -> None:
        full = [
            principal
            for principal, bucket in self._buckets.items()
            if bucket.points + (now - bucket.at) * self.points_per_second >= self.burst
        ]
        for principal in full:
            del self._buckets[principal]
        if len(self._buckets) >= MAX_BUCKETS:  # all busy: the oldest go, refilled as new
            for principal in list(self._buckets)[: len(self._buckets) - MAX_BUCKETS + 1]:
                del self._buckets[principal]
