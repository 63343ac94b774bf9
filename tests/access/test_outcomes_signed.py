"""The outcomes `refused` (and entries naming no principal) are signed and verified like any other.

An auditor's offline verification accepts an export holding them, and catches anyone who turns a
`refused` into an `allowed` afterwards.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from hub.access.actions import Action
from hub.access.guard import guard, record_refused_token
from hub.audit.checkpoint import VerifierKey
from hub.audit.export import export_log
from hub.audit.sequencer import Sequencer
from hub.audit.verify import EntryTampered, verify_lines
from hub.errors import NotFound
from hub.keys.keyring import Keyring
from hub.profiles.applicants import find_applicant

UNREGISTERED = "110101199003071233"


async def _export(hub) -> list[bytes]:
    out = io.BytesIO()
    await export_log(hub, out)
    return out.getvalue().splitlines(keepends=True)


def _key(hub) -> VerifierKey:
    return VerifierKey(
        hub.settings.audit_origin, Keyring(hub.settings.secrets_dir).current_signing_key().public_bytes()
    )


async def test_refused_entries_are_signed_verified_and_tamper_evident(hub, clerk) -> None:
    await record_refused_token(hub, "Bearer hub_" + "z" * 43)
    ctx = await clerk.context()
    await guard(ctx, Action.APPLICANT_LOOKUP, ["11010519491231002X"], fields=["name"])
    with pytest.raises(NotFound):
        await find_applicant(ctx, UNREGISTERED)
    await ctx.commit()
    await ctx.close()
    await Sequencer(hub).integrate(force_checkpoint=True)

    lines = await _export(hub)
    report = verify_lines(iter(lines), [_key(hub)])
    assert report.entries == 3 and report.unsigned_entries == 0
    exported = b"".join(lines)
    assert b'"outcome":"refused","principal":null' in exported
    assert b'"outcome":"refused"' in exported and b'"reason":"NOT_FOUND"' in exported

    async with hub.engine.begin() as connection:
        await connection.execute(text("UPDATE access_entries SET outcome = 'allowed' WHERE reason = 'NOT_FOUND'"))
    with pytest.raises(EntryTampered):
        verify_lines(iter(await _export(hub)), [_key(hub)])
