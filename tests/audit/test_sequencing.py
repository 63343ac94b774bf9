"""Several hub processes append and sequence at once: every queued entry gets exactly one
sequence number, the numbers run 1..N without gaps, the whole log verifies, and the signers,
sharing one secrets folder, never refuse each other's heads."""

from __future__ import annotations

import io
import subprocess
import sys

from sqlalchemy import text

from hub.audit.checkpoint import VerifierKey
from hub.audit.export import export_log
from hub.audit.head import HeadStore
from hub.audit.sequencer import Sequencer
from hub.audit.verify import verify_lines
from hub.keys.keyring import Keyring

PROCESSES = 4
REQUESTS = 60
ENTRIES_PER_REQUEST = 3

# One hub process: requests queue their entries; every few requests it also runs the sequencer,
# with small batches so that the processes contend for the log's lock many times.
WORKER = """
import asyncio, sys
from hub.access.actions import Action
from hub.access.guard import guard
from hub.audit.sequencer import Sequencer
from hub.access.auth import Caller, Role
from hub.access.context import RequestContext
from hub.services import build_hub
from hub.settings import Settings

async def main(url, secrets, worker, requests, per_request):
    hub = build_hub(Settings(database_url=url, secrets_dir=secrets, audit_sequencer_batch=25, audit_checkpoint_entries=40))
    caller = Caller(worker, f"worker {worker}", Role.CLERK, 1, "xzfw")
    for number in range(requests):
        ctx = RequestContext(hub, caller, request_id=f"w{worker}-r{number}")
        # Half as reads, through the group commit (numbered at insert on PostgreSQL), half inside a
        # transaction (queued, numbered by a sequencer).
        ctx.read_only = number % 2 == 0
        for _ in range(per_request):
            await guard(ctx, Action.APPLICANT_LOOKUP, ["11010519491231002X"], fields=["name"])
        await ctx.commit()
        await ctx.close()
        if number % 4 == worker % 4:
            await Sequencer(hub).integrate(wait=number % 8 == 0)
    await hub.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
"""


async def test_processes_appending_at_once_leave_a_gapless_verified_log(hub) -> None:
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                hub.settings.database_url,
                str(hub.settings.secrets_dir),
                str(worker),
                str(REQUESTS),
                str(ENTRIES_PER_REQUEST),
            ],
            stderr=subprocess.PIPE,
        )
        for worker in range(1, PROCESSES + 1)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=300)
        assert worker.returncode == 0, errors.decode()
    await Sequencer(hub).integrate(force_checkpoint=True)

    total = PROCESSES * REQUESTS * ENTRIES_PER_REQUEST
    async with hub.engine.connect() as connection:
        pending = (await connection.execute(text("SELECT count(*) FROM access_entries WHERE seq IS NULL"))).scalar()
        count, first, last, distinct = (
            await connection.execute(
                text("SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM access_entries")
            )
        ).one()
        per_request = (
            await connection.execute(text("SELECT request_id, count(*) FROM access_entries GROUP BY request_id"))
        ).all()
        checkpoints = (await connection.execute(text("SELECT count(*) FROM audit_checkpoints"))).scalar()
    assert pending == 0
    assert (count, first, last, distinct) == (total, 1, total, total)
    assert len(per_request) == PROCESSES * REQUESTS and {n for _, n in per_request} == {ENTRIES_PER_REQUEST}
    assert checkpoints > 1

    out = io.BytesIO()
    await export_log(hub, out)
    key = VerifierKey(hub.settings.audit_origin, Keyring(hub.settings.secrets_dir).current_signing_key().public_bytes())
    report = verify_lines(iter(out.getvalue().splitlines(keepends=True)), [key])
    assert (report.entries, report.tree_size, report.unsigned_entries) == (total, total, 0)
    assert report.checkpoints == checkpoints
    # The processes shared one secrets folder: the head file is the last checkpoint any of them signed.
    head = HeadStore(hub.settings.secrets_dir).read()
    assert head is not None and (head.tree_size, head.root_hash) == (total, report.root_hash)
