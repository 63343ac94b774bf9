"""Someone with SQL access edits, deletes, inserts, reorders or truncates access-log rows: the
offline verifier catches every change and names the first bad sequence number."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from hub.access.actions import Action
from hub.access.guard import guard
from hub.audit.checkpoint import VerifierKey
from hub.audit.export import export_log
from hub.audit.merkle import leaf_hash
from hub.audit.sequencer import Sequencer
from hub.audit.verify import EntriesMissing, EntryTampered, UntrustedCheckpoint, VerificationError, verify_lines
from hub.keys.keyring import Keyring

APPLICANTS = ["11010519491231002X", "110101199003071233"]
FORGED_COLUMNS = (
    "seq, recorded_at, request_id, client_address, principal_id, department_code, role, action, outcome, "
    "applicant_ref, object_ref, fields, material_types, purpose, reason"
)


async def _log_of(hub, clerk, sizes: list[int]) -> None:
    """Clerk reads until the log holds each of `sizes` entries, signing a checkpoint at each."""
    made = 0
    for size in sizes:
        ctx = await clerk.context()
        while made < size:
            await guard(ctx, Action.PROFILE_READ, [APPLICANTS[made % 2]], fields=["name", "phone"])
            made += 1
        await ctx.commit()
        await ctx.close()
        await Sequencer(hub).integrate(force_checkpoint=True)


async def _sql(hub, *statements: str, **params) -> None:
    async with hub.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement), params)


async def _export(hub) -> list[bytes]:
    out = io.BytesIO()
    await export_log(hub, out)
    return out.getvalue().splitlines(keepends=True)


def _key(hub) -> VerifierKey:
    return VerifierKey(
        hub.settings.audit_origin, Keyring(hub.settings.secrets_dir).current_signing_key().public_bytes()
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


async def test_a_deleted_entry_with_the_rest_renumbered_is_named(signed_log) -> None:
    await _sql(
        signed_log,
        "DELETE FROM access_entries WHERE seq = 123",
        "UPDATE access_entries SET seq = -seq WHERE seq > 123",
        "UPDATE access_entries SET seq = -seq - 1 WHERE seq < 0",
    )
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 123


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
    assert failure.seq == 200


async def test_reordered_entries_are_named(signed_log) -> None:
    await _sql(
        signed_log,
        "UPDATE access_entries SET seq = -1 WHERE seq = 50",
        "UPDATE access_entries SET seq = 50 WHERE seq = 51",
        "UPDATE access_entries SET seq = 51 WHERE seq = -1",
    )
    failure = _first_bad(signed_log, await _export(signed_log))
    assert failure.seq == 50


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
