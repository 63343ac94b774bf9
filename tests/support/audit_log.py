"""The access log as tests drive and tamper with it: reads that fill it, SQL that rewrites it,
exports and the hub's own verifier key."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import select, text

from hub.access.actions import Action
from hub.access.guard import guard
from hub.audit.checkpoint import VerifierKey
from hub.audit.encoding import encode_row
from hub.audit.export import export_log
from hub.audit.merkle import leaf_hash
from hub.audit.sequencer import Sequencer
from hub.audit.tiles import TileSet
from hub.keys.keyring import Keyring
from storage.models import AccessEntry
from storage.models.base import utcnow
from storage.repositories import audit as repo

APPLICANTS = ["11010519491231002X", "110101199003071233"]


def entry_row(request_id: str, recorded_at: datetime | None = None) -> dict[str, object]:
    """An allowed look-up's entry as `repo.append_entries` and the group commit take it."""
    return {
        "recorded_at": recorded_at or utcnow(),
        "request_id": request_id,
        "client_address": "127.0.0.1",
        "principal_id": None,
        "department_code": "",
        "role": "",
        "action": Action.APPLICANT_LOOKUP.value,
        "outcome": "allowed",
        "applicant_ref": APPLICANTS[0],
        "object_ref": "",
        "fields": "name",
        "material_types": "",
        "purpose": "",
        "reason": "",
    }


async def log_of(hub, clerk, sizes: list[int]) -> None:
    """Clerk looks applicants up until the log holds each of `sizes` entries, signing a checkpoint at each."""
    made = 0
    for size in sizes:
        ctx = await clerk.context()
        while made < size:
            await guard(ctx, Action.APPLICANT_LOOKUP, [APPLICANTS[made % 2]], fields=["name", "phone"])
            made += 1
        await ctx.commit()
        await ctx.close()
        await Sequencer(hub).integrate(force_checkpoint=True)


async def sql(hub, *statements: str, **params) -> None:
    async with hub.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement), params)


async def export(hub) -> list[bytes]:
    out = io.BytesIO()
    await export_log(hub, out)
    return out.getvalue().splitlines(keepends=True)


def hub_key(hub) -> VerifierKey:
    return VerifierKey(
        hub.settings.audit_origin, Keyring(hub.settings.secrets_dir).current_signing_key().public_bytes()
    )


async def rewrite_history(hub, seq: int, keep_checkpoints_up_to: int) -> None:
    """The database administrator's attack: change one entry, rebuild the tiles and the tree state
    from the entries with SQL, and delete the checkpoints that no longer match."""
    await sql(hub, f"UPDATE access_entries SET purpose = 'basis:covered-up' WHERE seq = {seq}")
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(*repo.ENTRY_COLUMNS).where(AccessEntry.seq.is_not(None)).order_by(AccessEntry.seq)
            )
        ).all()
    tree = TileSet({})
    tree.extend(0, [leaf_hash(encode_row(row)) for row in rows])
    tiles, _ = tree.changes()
    await sql(
        hub, "DELETE FROM audit_tiles", f"DELETE FROM audit_checkpoints WHERE tree_size > {keep_checkpoints_up_to}"
    )
    async with hub.engine.begin() as connection:
        for (level, idx), hashes in tiles.items():
            await connection.execute(
                text("INSERT INTO audit_tiles (level, idx, hashes) VALUES (:l, :i, :h)"),
                {"l": level, "i": idx, "h": hashes},
            )
        await connection.execute(text("UPDATE audit_log_state SET root_hash = :r"), {"r": tree.root(len(rows))})
