"""Entries are numbered from one counter: a read's batch as the group commit inserts it (PostgreSQL),
a queued entry by the sequencer. Numbered entries join the tree in order, and whoever deletes one
before it is hashed, or removes the counter, is seen without a read going unlogged."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from hub.access.actions import Action
from hub.access.guard import guard
from hub.audit.sequencer import Sequencer
from hub.audit.verify import verify_lines
from hub.metrics import REGISTRY
from storage.repositories import audit as repo
from tests.support.audit_log import APPLICANTS
from tests.support.audit_log import export as _export
from tests.support.audit_log import hub_key as _key
from tests.support.audit_log import sql as _sql


async def _read(clerk, entries: int) -> None:
    """A read (its only write is its entries, through the process's group commit)."""
    ctx = await clerk.context()
    ctx.read_only = True
    for n in range(entries):
        await guard(ctx, Action.APPLICANT_LOOKUP, [APPLICANTS[n % 2]], fields=["name"])
    await ctx.commit()
    await ctx.close()


async def _seqs(hub) -> list[int | None]:
    async with hub.engine.connect() as connection:
        rows = await connection.execute(text("SELECT seq FROM access_entries ORDER BY id"))
        return [seq for (seq,) in rows]


async def _state(hub) -> tuple[int, int]:
    """(the counter, the tree's size)."""
    async with hub.sessions() as session:
        state = await repo.log_state(session)
        return await repo.last_numbered(session) or 0, state.tree_size if state is not None else 0


def _postgresql(hub) -> bool:
    return hub.engine.dialect.name == "postgresql"


async def test_reads_are_numbered_as_they_commit_and_join_the_tree_in_order(hub, clerk) -> None:
    await asyncio.gather(*(_read(clerk, 3) for _ in range(8)))
    if _postgresql(hub):
        # Numbered by the insert itself: no sequencer has run, and the tree is still empty.
        assert sorted(await _seqs(hub)) == list(range(1, 25))
        assert await _state(hub) == (24, 0)
    else:  # SQLite queues them, for the sequencer to number
        assert await _seqs(hub) == [None] * 24
    assert hub.access_group_commit.batches < 8  # concurrent reads shared batches

    run = await Sequencer(hub).integrate(force_checkpoint=True)
    assert run is not None and run.tree_size == 24
    assert sorted(await _seqs(hub)) == list(range(1, 25)) and await _state(hub) == (24, 24)
    report = verify_lines(iter(await _export(hub)), [_key(hub)])
    assert (report.entries, report.tree_size, report.unsigned_entries) == (24, 24, 0)


async def test_reads_and_writes_share_one_gapless_numbering(hub, clerk) -> None:
    """A write's entries are queued in its transaction; the sequencer numbers them after the
    reads' numbers, from the same counter."""
    await _read(clerk, 2)
    write = await clerk.context()
    await guard(write, Action.APPLICANT_LOOKUP, [APPLICANTS[0]], fields=["name"])
    await write.commit()
    await write.close()
    await _read(clerk, 2)
    await Sequencer(hub).integrate(force_checkpoint=True)
    seqs = await _seqs(hub)
    assert sorted(seqs) == [1, 2, 3, 4, 5]
    if _postgresql(hub):  # rows in insert order: read, read, write, read, read
        assert seqs == [1, 2, 5, 3, 4]
    report = verify_lines(iter(await _export(hub)), [_key(hub)])
    assert (report.entries, report.unsigned_entries) == (5, 0)


async def test_a_numbered_entry_deleted_before_it_is_hashed_halts_the_tree_with_an_alarm(hub, clerk, caplog) -> None:
    await _read(clerk, 4)
    await Sequencer(hub).integrate(force_checkpoint=True)
    # Six more entries numbered 5..10 as the group commit numbers them, not yet in the tree.
    await _read(clerk, 6)
    async with hub.sessions() as session:
        if ids := await repo.queued_ids(session, 100):  # SQLite's reads are queued: number them likewise
            await repo.assign_sequence(session, ids, await repo.take_numbers(session, len(ids)) + 1)
            await session.commit()
    await _sql(hub, "DELETE FROM access_entries WHERE seq = 7")
    halts = REGISTRY.get_sample_value("hub_audit_sequencer_halted_total") or 0.0

    run = await Sequencer(hub).integrate()
    assert run is not None and run.tree_size == 6  # entries 5 and 6 go in; nothing past the gap
    assert (REGISTRY.get_sample_value("hub_audit_sequencer_halted_total") or 0.0) > halts
    alarms = [r.getMessage() for r in caplog.records if "ACCESS LOG ALARM" in r.getMessage()]
    assert len(alarms) == 1 and alarms[0].startswith(
        "ACCESS LOG ALARM: the sequencer stopped before adding entry 7 to the tree: entry 7 is missing "
        "from access_entries although the counter numbered entries after it"
    )
    await _read(clerk, 1)  # reads go on, and are logged
    assert len(await _seqs(hub)) == 10
    run = await Sequencer(hub).integrate()
    assert run is not None and run.tree_size == 6  # still halted, the alarm logged once
    assert sum("ACCESS LOG ALARM" in r.getMessage() for r in caplog.records) == 1


async def test_a_deleted_counter_keeps_reads_logged_and_is_put_back_at_the_tree(hub, clerk) -> None:
    await _read(clerk, 3)
    await Sequencer(hub).integrate(force_checkpoint=True)
    await _sql(hub, "DELETE FROM audit_counter")

    await _read(clerk, 2)  # answered: its batch could not be numbered, so its entries were queued
    assert sorted(await _seqs(hub), key=lambda s: s or 0) == [None, None, 1, 2, 3]
    run = await Sequencer(hub).integrate(force_checkpoint=True)
    assert run is not None and run.tree_size == 5 and await _state(hub) == (5, 5)
    await _read(clerk, 1)
    await Sequencer(hub).integrate(force_checkpoint=True)
    report = verify_lines(iter(await _export(hub)), [_key(hub)])
    assert (report.entries, report.unsigned_entries) == (6, 0)
