"""Someone with SQL access edits, deletes, inserts, reorders or truncates access-log rows: the
offline verifier catches every change and names the first bad sequence number."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from hub.audit.head import HeadStore
from hub.audit.merkle import leaf_hash
from hub.audit.sequencer import Sequencer
from hub.audit.verify import EntriesMissing, EntryTampered, UntrustedCheckpoint, VerificationError, verify_lines
from hub.metrics import REGISTRY
from storage.repositories import audit as repo
from tests.support.audit_log import export as _export
from tests.support.audit_log import hub_key as _key
from tests.support.audit_log import log_of as _log_of
from tests.support.audit_log import rewrite_history as _rewrite_history
from tests.support.audit_log import sql as _sql

FORGED_COLUMNS = (
    "seq, recorded_at, request_id, client_address, principal_id, department_code, role, action, outcome, "
    "applicant_ref, object_ref, fields, material_types, purpose, reason"
)


def _first_bad(hub, lines: list[bytes], **kwargs) -> VerificationError:
    with pytest.raises(VerificationError) as failure:
        verify_lines(iter(lines), [_key(hub)], **kwargs)
    return failure.value


@pytest.fixture
async def signed_log(hub, clerk):
    await _log_of(hub, clerk, [200, 400, 700])
    report = verify_lines(iter(await _export(hub)), [_key(hub)])
    assert (report.entries, report.checkpoints, report.unsigned_entries) == (700, 3, 0)
    return hub


async def test_an_edited_entry_is_named(signed_log) -> None:
    await _sql(signed_log, "UPDATE access_entries SET purpose = 'basis:covered-up' WHERE seq = 300")
    failure = _first_bad(signed_log, await _export(signed_log))
    assert isinstance(failure, EntryTampered) and failure.seq == 300
    assert "entry 300 was changed" in failure.message


async def test_a_deleted_entry_is_named(signed_log) -> None:
    await _sql(signed_log, "DELETE FROM access_entries WHERE seq = 123")
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 123 and "entry 123 is missing" in failure.message
    assert "renumbered" not in failure.message, failure.message  # the entries after it kept their numbers


async def test_a_deleted_entry_with_the_rest_renumbered_is_named(signed_log) -> None:
    await _sql(
        signed_log,
        "DELETE FROM access_entries WHERE seq = 123",
        "UPDATE access_entries SET seq = -seq WHERE seq > 123",
        "UPDATE access_entries SET seq = -seq - 1 WHERE seq < 0",
    )
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 123 and "renumbered to close the gap" in failure.message


async def test_an_inserted_entry_is_named(signed_log) -> None:
    await _sql(
        signed_log,
        "UPDATE access_entries SET seq = -seq WHERE seq >= 200",
        "UPDATE access_entries SET seq = -seq + 1 WHERE seq < 0",
        f"INSERT INTO access_entries ({FORGED_COLUMNS}) VALUES (200, :at, 'forged', '', NULL, 'jcj', 'auditor', "
        "'audit.search', 'allowed', '', '', '', '', '', '')",
        at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 200 and "entry 200 was inserted" in failure.message


async def test_renumbered_entries_are_named(signed_log) -> None:
    await _sql(
        signed_log,
        "UPDATE access_entries SET seq = -seq WHERE seq > 300",
        "UPDATE access_entries SET seq = -seq + 1 WHERE seq < 0",
    )
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 301 and "entry 301 was renumbered: it now reads seq 302" in failure.message


async def test_reordered_entries_are_named(signed_log) -> None:
    await _sql(
        signed_log,
        "UPDATE access_entries SET seq = -1 WHERE seq = 50",
        "UPDATE access_entries SET seq = 50 WHERE seq = 51",
        "UPDATE access_entries SET seq = 51 WHERE seq = -1",
    )
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 50 and "entries 50 and 51 were swapped" in failure.message


async def test_a_truncated_log_is_named(signed_log) -> None:
    await _sql(signed_log, "DELETE FROM access_entries WHERE seq > 500")
    failure = _first_bad(signed_log, await _export(signed_log))
    assert isinstance(failure, EntriesMissing) and failure.seq == 501


async def test_a_truncation_hidden_with_the_checkpoints_is_caught_by_a_kept_checkpoint(signed_log) -> None:
    kept = (await _export(signed_log))[3].decode()  # the checkpoint of size 700, as an auditor saved it
    note = json.loads(kept)["checkpoint"]
    await _sql(
        signed_log,
        "DELETE FROM access_entries WHERE seq > 400",
        "DELETE FROM audit_checkpoints WHERE tree_size > 400",
        "UPDATE audit_log_state SET tree_size = 400",
    )
    lines = await _export(signed_log)
    verify_lines(iter(lines), [_key(signed_log)])  # consistent on its own...
    failure = _first_bad(signed_log, lines, kept_checkpoints=[note])  # ...but not with what the auditor kept
    assert isinstance(failure, EntriesMissing) and failure.seq == 401


async def test_an_export_edited_with_its_leaf_hashes_is_caught_by_the_signature(signed_log) -> None:
    lines = await _export(signed_log)
    # Entry 300 is line 300 - 256 = 44 of tile 1, after the header, 3 checkpoints, tile 0 and its lines.
    tile_line = 1 + 3 + 1 + 256
    position = tile_line + 44
    forged = lines[position].replace(b'"purpose":""', b'"purpose":"basis:x"')
    tile = json.loads(lines[tile_line])
    hashes = bytearray(base64.b64decode(tile["leaf_hashes"]))
    hashes[43 * 32 : 44 * 32] = leaf_hash(forged[:-1])
    tile["leaf_hashes"] = base64.b64encode(bytes(hashes)).decode()
    lines[tile_line] = json.dumps(tile).encode() + b"\n"
    lines[position] = forged
    failure = _first_bad(signed_log, lines)
    assert isinstance(failure, EntryTampered) and failure.seq == 201
    assert "do not match the signed checkpoint of size 400" in failure.message


async def test_a_forged_checkpoint_is_refused(signed_log) -> None:
    await _sql(signed_log, "UPDATE audit_checkpoints SET note = replace(note, '\n700\n', '\n699\n')")
    failure = _first_bad(signed_log, await _export(signed_log))
    assert isinstance(failure, UntrustedCheckpoint)


# The database's owner against the log itself ---------------------------------------------------

CHECKPOINT_QUERY = "query { latestCheckpoint { treeSize note } }"
INCLUSION_QUERY = "query($seq: Int!) { inclusionProof(seq: $seq) { seq treeSize } }"


async def _insert_forged_after(hub, n: int) -> None:
    """Renumber the entries after `n` one up and insert a forged entry at n + 1, in SQL."""
    await _sql(
        hub,
        f"UPDATE access_entries SET seq = -seq WHERE seq > {n}",
        "UPDATE access_entries SET seq = -seq + 1 WHERE seq < 0",
        f"INSERT INTO access_entries ({FORGED_COLUMNS}) VALUES ({n + 1}, :at, 'forged', '', NULL, 'jcj', 'auditor', "
        "'audit.search', 'allowed', '', '', '', '', '', '')",
        at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )


async def _pending(hub) -> int:
    """Entries kept but not in the tree: queued (seq NULL), or numbered after the tree's size."""
    async with hub.engine.connect() as connection:
        statement = (
            "SELECT count(*) FROM access_entries "
            "WHERE seq IS NULL OR seq > (SELECT tree_size FROM audit_log_state WHERE id = 1)"
        )
        return (await connection.execute(text(statement))).scalar()


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_forged_insert_stops_numbering_but_not_reads(signed_log, client, auditor, clerk, hub_command, caplog):
    await _insert_forged_after(signed_log, 650)
    halts = _metric("hub_audit_sequencer_halted_total")

    # The auditor still reads the last good checkpoint and proves entries in it: no internal error.
    answer = await client.execute(CHECKPOINT_QUERY, token=auditor.token)
    assert answer["latestCheckpoint"]["treeSize"] == 700
    proof = await client.execute(INCLUSION_QUERY, {"seq": 10}, token=auditor.token)
    assert proof["inclusionProof"]["treeSize"] == 700

    # The sequencer names the first entry it cannot number, once in the log, and numbers nothing.
    await Sequencer(signed_log).integrate()
    await Sequencer(signed_log).integrate()
    assert _metric("hub_audit_sequencer_halted_total") > halts
    alarms = [r.getMessage() for r in caplog.records if "ACCESS LOG ALARM" in r.getMessage()]
    assert len(alarms) == 1 and "as entry 701" in alarms[0]
    assert await _pending(signed_log) >= 2  # the auditor's two reads are kept, queued

    # The export is written and names the forged entry; verify says FAILED on stdout, exit 1.
    token_file = signed_log.settings.secrets_dir.parent / "auditor-token"
    token_file.write_text(auditor.token)
    export_file = signed_log.settings.secrets_dir.parent / "log.jsonl"
    status, out, err = await hub_command("audit", "export", str(export_file), "--token-file", str(token_file))
    assert status == 1 and "Traceback" not in err
    assert "FAILED at entry 651: entry 651 was inserted" in out
    status, out, _ = await hub_command("audit", "verify", str(export_file), "--public-key", _key(signed_log).text())
    assert status == 1 and out.startswith("FAILED at entry 651:")


async def test_a_rewritten_history_is_not_signed(signed_log, clerk, caplog, hub_command) -> None:
    refused = _metric("hub_audit_signing_refused_total")
    await _rewrite_history(signed_log, 300, keep_checkpoints_up_to=200)
    await _log_of(signed_log, clerk, [710])  # more reads; the hub is asked to sign
    async with signed_log.sessions() as session:
        latest = await repo.latest_checkpoint(session)
    assert latest.tree_size == 200  # nothing signed over the rewritten tree
    assert _metric("hub_audit_signing_refused_total") > refused
    alarm = next(r for r in caplog.records if "ACCESS LOG ALARM" in r.getMessage())
    assert alarm.levelname == "ERROR" and "not consistent with the head of size 700" in alarm.getMessage()
    assert await _pending(signed_log) == 0  # entries are still numbered: only signing stopped
    status, out, _ = await hub_command("audit", "checkpoint")
    assert status == 1 and out.startswith("FAILED: the tree of size 1,410 was not signed")
    # An auditor without older checkpoints sees no signature over the rewritten entries; one who kept
    # the checkpoint of size 700 is told where the history changed.
    lines = await _export(signed_log)
    report = verify_lines(iter(lines), [_key(signed_log)])
    assert (report.tree_size, report.unsigned_entries) == (200, 1210)
    failure = _first_bad(signed_log, lines, kept_checkpoints=[HeadStore(signed_log.settings.secrets_dir).read().note])
    assert failure.seq == 201


async def test_the_head_file_is_written_atomically_private_and_current(signed_log) -> None:
    head = HeadStore(signed_log.settings.secrets_dir)
    stored = head.read()
    assert stored is not None and stored.tree_size == 700
    assert stored.note.startswith(f"{signed_log.settings.audit_origin}\n700\n")
    assert head.path.stat().st_mode & 0o777 == 0o600 and head.journal.stat().st_mode & 0o777 == 0o600
    assert len(head.journal.read_text().splitlines()) == 3  # one line per checkpoint signed
    assert not list(head.dir.glob(".*.tmp"))


async def test_deleting_the_head_file_does_not_reopen_signing(signed_log, clerk) -> None:
    """The journal, append-only on the operator's storage, still holds the head."""
    await _rewrite_history(signed_log, 300, keep_checkpoints_up_to=200)
    HeadStore(signed_log.settings.secrets_dir).path.unlink()
    await _log_of(signed_log, clerk, [10])
    async with signed_log.sessions() as session:
        assert (await repo.latest_checkpoint(session)).tree_size == 200


async def test_signers_of_one_secrets_folder_take_turns(signed_log, clerk) -> None:
    """Two signers racing on one head file: each signs only a tree that extends the other's head."""
    await _log_of(signed_log, clerk, [720])
    results = await asyncio.gather(*(Sequencer(signed_log).integrate(force_checkpoint=True) for _ in range(4)))
    assert all(r is not None for r in results)
    head = HeadStore(signed_log.settings.secrets_dir).read()
    async with signed_log.sessions() as session:
        latest = await repo.latest_checkpoint(session)
    assert head is not None and latest is not None and head.tree_size == latest.tree_size
    assert head.note == latest.note


async def test_a_damaged_tile_stops_numbering_with_an_alarm(signed_log, clerk, caplog) -> None:
    halts = _metric("hub_audit_sequencer_halted_total")
    await _sql(signed_log, "DELETE FROM audit_tiles WHERE level = 0 AND idx = 2")  # leaves 513..700
    await _log_of(signed_log, clerk, [3])
    assert _metric("hub_audit_sequencer_halted_total") > halts
    alarm = next(r.getMessage() for r in caplog.records if "ACCESS LOG ALARM" in r.getMessage())
    assert "stopped before adding entry 701 to the tree: the stored tree is damaged" in alarm
    assert await _pending(signed_log) == 3  # the reads are kept, queued
