"""Group commit: the access entries of concurrent reads written with one insert and one commit.

A read's only write is its access entries. Written by each request alone, every read pays an
insert and a commit that waits for the WAL flush; sixteen concurrent reads pay it sixteen times.
Here a request hands its rows to the process's batcher and waits: while one batch is being written,
the rows of the requests arriving meanwhile gather into the next, written as soon as it ends. No
timer: an idle hub writes a lone request's rows at once, a busy one in batches as large as the
write takes long. While batches follow each other the writer keeps one connection; it gives it
back to the pool once nobody waits, and after a failed batch (the connection may be what failed).

A request's wait ends only when the batch holding its rows has committed, so no read answers before
its entries are durable; if the batch fails, each of its requests' rows is tried alone, so one
unstorable entry fails its own request (closed, hub/access/_recorder.py) and nobody else's.

A batch is numbered as it is inserted (on PostgreSQL; storage/repositories/audit.py), so the
sequencer only hashes it. The rows tried alone after a failure are queued instead, for the sequencer
to number: if the numbering itself is what failed (a row numbered in SQL where the counter goes
next, the counter's row deleted), reads still answer, and the sequencer raises the alarm.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.metrics import ACCESS_GROUP_COMMIT_FALLBACKS
from storage.repositories.audit import append_entries_durably, append_entries_on

log = logging.getLogger("hub.access")

Rows = Sequence[Mapping[str, Any]]


class GroupCommit:
    def __init__(self, engine: AsyncEngine, *, numbered: bool = True) -> None:
        self._engine = engine
        self._numbered = numbered
        self._waiting: list[tuple[Rows, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        # Figures for tests and benchmarks: batches written, and requests they held.
        self.batches = 0
        self.requests = 0

    async def write(self, rows: Rows) -> None:
        """Return once `rows` are committed; raise what the database raised if they cannot be."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        await future

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            try:
                connection = await self._engine.connect()
            except asyncio.CancelledError as cancelled:  # the process stopping: nobody may wait forever
                for _, future in self._take():
                    _settle(future, cancelled)
                raise
            except Exception as error:  # noqa: BLE001  (no connection: each request alone, as after a failed batch)
                await self._each_alone(self._take(), error)
                continue
            try:
                # One connection while batches keep coming: taking one from the pool and giving it
                # back cost each batch three greenlets (docs/performance.md, session 14).
                while self._waiting:
                    if not await self._write(connection, self._take()):
                        break  # it may be what failed: the next batch takes a fresh one
            finally:
                with suppress(Exception):  # given back broken: the pool discards it
                    await connection.close()

    def _take(self) -> list[tuple[Rows, asyncio.Future[None]]]:
        batch, self._waiting = self._waiting, []
        return batch

    async def _write(self, connection: AsyncConnection, batch: list[tuple[Rows, asyncio.Future[None]]]) -> bool:
        """Write one batch and settle its requests; False if it had to be written request by request."""
        self.batches += 1
        self.requests += len(batch)
        try:
            await append_entries_on(connection, [row for rows, _ in batch for row in rows], numbered=self._numbered)
        except asyncio.CancelledError as cancelled:  # the process stopping: nobody may wait forever
            for _, future in batch:
                _settle(future, cancelled)
            raise
        except Exception as error:  # noqa: BLE001  (each request alone: only one that cannot be stored fails)
            await self._each_alone(batch, error)
            return False
        for _, future in batch:
            _settle(future, None)
        return True

    async def _each_alone(self, batch: list[tuple[Rows, asyncio.Future[None]]], error: Exception) -> None:
        # Seen, not silent: a counter that keeps rising means every batch fails (the counter's row
        # deleted, say) and the log is back to one insert per read.
        ACCESS_GROUP_COMMIT_FALLBACKS.inc()
        log.warning(
            "a batch of %d reads' access entries could not be written together (%s); writing each alone",
            len(batch),
            type(error).__name__,
        )
        for rows, future in batch:
            try:
                await append_entries_durably(self._engine, rows)
            except Exception as alone:  # noqa: BLE001  (handed to its request, which fails closed)
                _settle(future, alone)
            else:
                _settle(future, None)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # its request went away (the client disconnected): nobody to tell
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
