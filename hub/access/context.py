"""The services a hub process holds, and the per-request context every use case receives."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.access._group_commit import GroupCommit
from hub.access._recorder import AccessRecorder
from hub.access.auth import Caller
from hub.access.budgets import CostBudgets
from hub.access.lookups import Lookups
from hub.access.purposes import canonical_purpose
from hub.errors import HubError
from hub.settings import Settings
from storage.db import autocommit_reads
from storage.models.base import utcnow

if TYPE_CHECKING:
    from hub.documents.store import DocumentStore


@dataclass
class Hub:
    """Process-wide services. Holds no state that several hub processes would need to share."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Named readiness probes for /readyz beyond the database (the blob store, for one).
    readiness_checks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # Routes other than /graphql that a part of the hub serves (signed download links, for one).
    extra_routes: list[Any] = field(default_factory=list)
    # The encrypted, deduplicated document store (hub/documents/store.py).
    documents: DocumentStore | None = None
    # The time now, for deadlines and dates the hub records; a scenario can run on a fixed date.
    clock: Callable[[], datetime] = utcnow
    # SQLite only: reads take turns here to write their access entries, rather than in SQLite's
    # busy-retry, which sleeps up to 100 ms at a time (measured: a p99 of 2 s under 16 clients).
    # A local courtesy, not shared state: processes still take turns on SQLite's own lock. Used
    # with HUB_ACCESS_GROUP_COMMIT off; with it on, the group commit is reads' one writer.
    read_log_turns: asyncio.Lock | None = None
    # Reads' access entries, written in batches (hub/access/_group_commit.py); one per process.
    access_group_commit: GroupCommit = field(init=False)
    # Each principal's budget of query cost at the GraphQL edge; per process (hub/access/budgets.py).
    cost_budgets: CostBudgets = field(init=False)
    # Visits and the catalogue's material type codes, read on every clerk's read (hub/access/lookups.py).
    lookups: Lookups = field(init=False)

    def __post_init__(self) -> None:
        self.access_group_commit = GroupCommit(self.engine, numbered=self.settings.audit_numbered_at_insert)
        self.lookups = Lookups()
        self.cost_budgets = CostBudgets(
            self.settings.rate_limit_points_per_second, self.settings.rate_limit_burst_points
        )

    async def request_session(self) -> AsyncSession:
        """A request's session: autocommit until the operation is known (storage.db.autocommit_reads)."""
        session = self.sessions()
        try:
            await autocommit_reads(session)
        except BaseException:
            await session.close()
            raise
        return session

    @staticmethod
    async def end_request_session(session: AsyncSession) -> None:
        """Close a request's session if it still holds a transaction. One without holds no
        connection (a read's commit gave it back): closing it would only clear its identity map,
        through a greenlet of its own (storage/repositories/driver.py, `_pooled`)."""
        if session.in_transaction():
            await session.close()

    async def close(self) -> None:
        await self.engine.dispose()


class RequestContext:
    """One request: who calls, for what purpose, one database session, and its access entries.

    Use cases read and write through `session`; `commit()` writes the pending access entries in the
    same transaction, so a write and its log entry land together or not at all.
    """

    def __init__(
        self,
        hub: Hub,
        caller: Caller,
        *,
        session: AsyncSession | None = None,
        purpose: str | None = None,
        request_id: str | None = None,
        client_address: str = "",
    ) -> None:
        self.hub = hub
        self.caller = caller
        # Canonical or refused (hub/access/purposes.py): the log holds one spelling per purpose.
        self.purpose = canonical_purpose(purpose)
        self.request_id = request_id or uuid.uuid4().hex
        self.client_address = client_address
        self.access: AccessRecorder = AccessRecorder()
        self._session: AsyncSession | None = session
        # Per-request memo for loaders and policy look-ups; never shared between requests.
        self.cache: dict[Any, Any] = {}
        # Set for a GraphQL query: its only write is its access entries, at commit.
        self.read_only = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.hub.sessions()
        return self._session

    async def commit(self) -> None:
        """Write pending access entries and commit everything done so far."""
        if self.read_only and self.hub.settings.access_group_commit:
            # A read wrote nothing else: its entries go with other reads' in one batch, this
            # returning once that batch is committed (hub/access/_group_commit.py). Its connection
            # goes back to the pool first: requests holding every connection of the pool while they
            # wait for a batch that needs one would wait forever (measured: 0 req/s under wrk).
            # A session with no transaction holds no connection (SQLite's short reads take none):
            # committing it would do nothing, through a greenlet (storage/repositories/driver.py).
            if self._session is not None and self._session.in_transaction():
                await self._session.commit()
            await self.access.flush(self, None)
            return
        # A read's turn (SQLite) cannot deadlock: a read holds no database lock before its insert,
        # so whoever holds SQLite's write lock (a mutation, the sequencer) never waits for it.
        turns = self.hub.read_log_turns if self.read_only else None
        async with turns or nullcontext():
            await self.access.flush(self, self.session)
            await self.session.commit()

    async def rollback_keeping_log(self) -> None:
        """Undo the work of a failed operation, but still record who tried what."""
        try:
            await self.session.rollback()
        except DBAPIError:
            # A connection closed under the request (a statement cancelled mid-way: graphql-core
            # cancels a failed field's siblings, which schema.root.UninterruptedFields now lets
            # finish) can neither roll back nor commit: it is discarded, and the entries are
            # committed through a fresh session.
            await self.session.invalidate()
            await self.session.close()
            self._session = None
        await self.commit()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


P = ParamSpec("P")
T = TypeVar("T")


def all_or_nothing(
    use_case: Callable[Concatenate[RequestContext, P], Awaitable[T]],
) -> Callable[Concatenate[RequestContext, P], Awaitable[T]]:
    """A refused use case leaves nothing written but the access entries of the attempt, which say
    it was refused. Every use case that guards and may then refuse wears it, reads included.

    The guard records `allowed` when the policy allows; if the use case then refuses with a
    HubError (an opinion from a department outside the case, a material already revoked), its
    entries become `refused` with the error's code as their reason, and everything else it wrote
    is rolled back. The GraphQL layer commits whatever a request left pending, so this must happen
    here, where the refusal is known.
    """

    @functools.wraps(use_case)
    async def run(ctx: RequestContext, *args: P.args, **kwargs: P.kwargs) -> T:
        with ctx.access.attempt() as entries:
            try:
                return await use_case(ctx, *args, **kwargs)
            except HubError as error:
                if entries is None:  # inside another use case: the outermost one answers
                    raise
                ctx.access.refuse(entries, error.code)
                if not ctx.read_only:
                    # A GraphQL query's fields run at once and share the request: its entries are
                    # written when it ends, and it wrote nothing else to roll back.
                    await ctx.rollback_keeping_log()
                raise

    return run  # type: ignore[return-value]  # wraps() types the wrapper as _Wrapped, still a callable of P
