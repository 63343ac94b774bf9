"""Authenticated callers kept per process for a few seconds, so a request skips the token look-up.

The look-up of a token's hash (principal joined with department) is one statement and one round
trip on every request; a clerk's screen sends the same token many times a minute. Only tokens that
authenticated are kept, keyed by the token's hash: an unknown, revoked or rotated-out token never is,
so it is looked up and refused as before, the same work whatever it was (tests/access/test_tokens.py).

How soon a revocation bites (docs/configuration.md, `HUB_PRINCIPAL_CACHE_SECONDS`):

- revoked or rotated in this process: at once (the entry is dropped when the change is made);
- in another process, PostgreSQL: at once after its commit, give or take the notification's trip
  (`NOTIFY hub_principals`, heard by every serving process; `listen_for_revocations`);
- otherwise (SQLite, or a PostgreSQL listener reconnecting): within the cache's lifetime, at most.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hub.access.auth import Caller

# Bounded so that a stream of distinct valid tokens cannot grow a process without limit.
MAX_ENTRIES = 10_000


class CallerCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, Caller]] = {}

    def get(self, token_hash: str, max_age: float) -> Caller | None:
        found = self._entries.get(token_hash)
        if found is None:
            return None
        stored_at, caller = found
        if self._clock() - stored_at > max_age:
            del self._entries[token_hash]
            return None
        return caller

    def put(self, token_hash: str, caller: Caller) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            # Oldest first: dicts keep insertion order.
            del self._entries[next(iter(self._entries))]
        self._entries[token_hash] = (self._clock(), caller)

    def drop_principal(self, principal_id: int) -> None:
        for token_hash in [h for h, (_, c) in self._entries.items() if c.principal_id == principal_id]:
            del self._entries[token_hash]

    def clear(self) -> None:
        self._entries.clear()


# One per process: the cache holds only what the database said, keyed by a hash of 256 random bits,
# so hubs sharing a process (tests) cannot see each other's callers.
CALLERS = CallerCache()
