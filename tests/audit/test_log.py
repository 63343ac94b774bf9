"""An auditor searches the access log, checks signed checkpoints and RFC 9162 proofs with nothing
but the hub's public key, and verifies a full export offline, across a signing key rotation."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.guard import guard
from hub.access.principals import create_principal
from hub.audit.checkpoint import VerifierKey, parse_body, verified_signers
from hub.audit.export import export_log
from hub.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from hub.audit.sequencer import Sequencer
from hub.audit.verify import UntrustedCheckpoint, verify_lines
from hub.keys.keyring import Keyring
from tests.support import Actor, open_visit

PERSON_ID = "11010519491231002X"
REGISTER = "mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber } }"
READ = 'query($id: String!) { applicant(idNumber: $id) { name profile(fields: ["name"]) { value } } }'
CHECKPOINT = "query { latestCheckpoint { treeSize rootHash note keyIds } }"
INCLUSION = """query($seq: Int!, $size: Int) { inclusionProof(seq: $seq, treeSize: $size) {
  seq leafIndex treeSize entry leafHash hashes checkpoint { treeSize rootHash note } } }"""
CONSISTENCY = """query($old: Int!) { consistencyProof(oldSize: $old) {
  oldSize newSize hashes newCheckpoint { treeSize rootHash note } } }"""
SEARCH = """query($filter: AccessLogFilter, $after: String) { accessLog(filter: $filter, first: 2, after: $after) {
  edges { node { seq action outcome departmentCode purpose applicantIdNumber fields } }
  pageInfo { hasNextPage endCursor } } }"""
WHO = """query($id: String) { whoReadMyData(idNumber: $id) { edges { node { departmentCode departmentName purpose action recordedAt } } } }"""


def _public_key(hub) -> VerifierKey:
    """The current signing key's public half, as an auditor would receive it."""
    return VerifierKey(
        hub.settings.audit_origin, Keyring(hub.settings.secrets_dir).current_signing_key().public_bytes()
    )


async def _activity(client, clerk, reads: int = 3) -> None:
    await client.execute(
        REGISTER, {"input": {"kind": "PERSON", "idNumber": PERSON_ID, "name": "张三"}}, token=clerk.token
    )
    await _activity_reads(client, clerk, reads)


def _signed_root(note: str, key: VerifierKey) -> tuple[int, bytes]:
    body, signers = verified_signers(note, [key])
    assert signers == [key], "the checkpoint must carry a valid signature by the hub's key"
    checkpoint = parse_body(body)
    return checkpoint.tree_size, checkpoint.root_hash


async def test_an_auditor_checks_an_entry_and_the_history_with_the_public_key(hub, client, clerk, auditor) -> None:
    await _activity(client, clerk)
    key = _public_key(hub)
    first = (await client.execute(CHECKPOINT, token=auditor.token))["latestCheckpoint"]
    old_size, old_root = _signed_root(first["note"], key)
    # One registration, the visit, then 3 reads (a lookup and a profile read each).
    assert old_size == first["treeSize"] == 8
    assert first["note"].startswith("hub.local/access-log\n8\n")

    proof = (await client.execute(INCLUSION, {"seq": 3}, token=auditor.token))["inclusionProof"]
    size, root = _signed_root(proof["checkpoint"]["note"], key)
    entry = proof["entry"].encode("utf-8")
    assert base64.b64decode(proof["leafHash"]) == leaf_hash(entry)
    assert entry.startswith(b'{"action":') and b',"seq":3,' in entry
    verify_inclusion(proof["leafIndex"], size, leaf_hash(entry), [base64.b64decode(h) for h in proof["hashes"]], root)

    await _activity_reads(client, clerk, 5)
    consistency = (await client.execute(CONSISTENCY, {"old": old_size}, token=auditor.token))["consistencyProof"]
    new_size, new_root = _signed_root(consistency["newCheckpoint"]["note"], key)
    assert new_size > old_size
    verify_consistency(old_size, new_size, [base64.b64decode(h) for h in consistency["hashes"]], old_root, new_root)


async def _activity_reads(client, clerk, reads: int) -> None:
    visit = await open_visit(client, clerk, PERSON_ID)
    for _ in range(reads):
        await client.execute(READ, {"id": PERSON_ID}, token=clerk.token, purpose=visit)


async def test_proof_requests_are_for_auditors_only_and_logged(hub, client, clerk, tax_system) -> None:
    await _activity(client, clerk, reads=1)
    for token in (clerk.token, tax_system.token):
        assert await client.error_code(INCLUSION, {"seq": 1}, token=token) == "FORBIDDEN"
        assert await client.error_code(SEARCH, token=token) == "FORBIDDEN"
    entries = await client.execute(SEARCH, {"filter": {"outcome": "DENIED"}}, token=(await _auditor(hub)).token)
    assert entries["accessLog"]["edges"][0]["node"]["action"] in {"audit.search", "audit.proof"}


async def _auditor(hub) -> Actor:
    from tests.support import make_actor

    return await make_actor(hub, Role.AUDITOR, "jcj", "王审计")


async def test_an_auditor_searches_the_log_page_by_page(client, clerk, tax_system, auditor) -> None:
    await _activity(client, clerk, reads=2)
    await client.error_code(READ, {"id": PERSON_ID}, token=tax_system.token, purpose="basis:none")
    variables = {"filter": {"applicantIdNumber": PERSON_ID, "action": "applicant.lookup"}}
    first = (await client.execute(SEARCH, variables, token=auditor.token))["accessLog"]
    assert [e["node"]["action"] for e in first["edges"]] == ["applicant.lookup", "applicant.lookup"]
    assert first["edges"][0]["node"]["departmentCode"] == "sw" and first["edges"][0]["node"]["outcome"] == "DENIED"
    second = (
        await client.execute(SEARCH, {**variables, "after": first["pageInfo"]["endCursor"]}, token=auditor.token)
    )["accessLog"]
    seqs = [e["node"]["seq"] for e in first["edges"] + second["edges"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) == 3
    assert not second["pageInfo"]["hasNextPage"]
    denied = await client.execute(
        SEARCH, {"filter": {"departmentCode": "sw", "purpose": "basis:none"}}, token=auditor.token
    )
    assert [e["node"]["outcome"] for e in denied["accessLog"]["edges"]] == ["DENIED"]


async def test_an_applicant_asks_who_read_their_data(hub, client, clerk, tax_system) -> None:
    await _activity(client, clerk, reads=1)
    async with hub.sessions() as session:
        issued = await create_principal(session, "张三本人", Role.APPLICANT, "xzfw", PERSON_ID)
        await session.commit()
    reads = (await client.execute(WHO, token=issued.token))["whoReadMyData"]["edges"]
    assert {(r["node"]["departmentCode"], r["node"]["action"]) for r in reads} == {
        ("xzfw", "applicant.lookup"),
        ("xzfw", "profile.read"),
    }
    assert all(r["node"]["departmentName"] == "行政服务中心" for r in reads)
    assert await client.error_code(WHO, {"id": "110101199003071233"}, token=issued.token) == "FORBIDDEN"
    # At the window, the clerk shows the applicant the same list; a department system may not.
    on_behalf = (await client.execute(WHO, {"id": PERSON_ID}, token=clerk.token))["whoReadMyData"]["edges"]
    assert len(on_behalf) == len(reads)
    assert await client.error_code(WHO, {"id": PERSON_ID}, token=tax_system.token, purpose="basis:x") == "FORBIDDEN"


async def test_an_export_verifies_offline_across_a_key_rotation(hub, client, clerk) -> None:
    await _activity(client, clerk, reads=2)
    old_key = _public_key(hub)
    await Sequencer(hub).integrate(force_checkpoint=True)
    Keyring(hub.settings.secrets_dir).rotate_signing_key()
    new_key = _public_key(hub)
    assert new_key != old_key
    await _activity_reads(client, clerk, 2)
    out = io.BytesIO()
    summary = await export_log(hub, out)
    assert summary.entries == summary.tree_size == 11 and summary.checkpoints == 2
    lines = out.getvalue().splitlines(keepends=True)
    for trusted in ([old_key], [new_key]):
        report = verify_lines(iter(lines), trusted)
        assert (report.entries, report.tree_size, report.checkpoints, report.unsigned_entries) == (11, 11, 2, 0)
        assert set(report.trusted_keys) == {old_key.text(), new_key.text()}
    stranger = VerifierKey(hub.settings.audit_origin, b"\x01" * 32)
    with pytest.raises(UntrustedCheckpoint):
        verify_lines(iter(lines), [stranger])


async def test_the_cli_exports_and_verifies_without_a_database(hub, client, clerk, auditor, tmp_path: Path) -> None:
    await _activity(client, clerk, reads=1)
    env = {
        **os.environ,
        "HUB_DATABASE_URL": hub.settings.database_url,
        "HUB_SECRETS_DIR": str(hub.settings.secrets_dir),
        "HUB_AUDITOR_TOKEN": auditor.token,
    }
    export = tmp_path / "log.jsonl"
    hub_cli = [sys.executable, "-m", "app.cli"]
    exported = subprocess.run([*hub_cli, "audit", "export", str(export)], env=env, capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    assert auditor.token not in exported.stdout + exported.stderr
    keys = subprocess.run(
        [*hub_cli, "audit", "public-keys"], env=env, check=True, capture_output=True, text=True
    ).stdout
    (tmp_path / "hub.pub").write_text(keys)
    offline = {**env, "HUB_DATABASE_URL": "postgresql+asyncpg://nobody@192.0.2.1:1/none"}
    verified = subprocess.run(
        [*hub_cli, "audit", "verify", str(export), "--public-key", str(tmp_path / "hub.pub")],
        env=offline,
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    # The clerk's two reads and lookup, and the export itself: it is in the log it wrote.
    assert verified.stdout.startswith("OK: 5 entries, 1 signed checkpoints verified")
    assert b'"action":"audit.export"' in export.read_bytes()
    assert "verifying [" in verified.stderr  # the progress bar


# Run as `hub`, then name which parts of the hub the verification imported.
_VERIFY_AND_NAME_IMPORTS = """
import sys
from app.cli import main
try:
    main(sys.argv[1:])
finally:
    print(sorted(m for m in ("sqlalchemy", "strawberry", "hub.services", "hub.access.guard") if m in sys.modules), file=sys.stderr)
"""


async def test_an_auditor_verifies_with_the_verifier_alone_and_no_hub_configuration(
    hub, client, clerk, tmp_path: Path
) -> None:
    await _activity(client, clerk, reads=1)
    export = tmp_path / "log.jsonl"
    with open(export, "wb") as out:
        await export_log(hub, out)
    # The auditor's machine has no hub settings, and one the hub would refuse: verify reads none.
    env = {name: value for name, value in os.environ.items() if not name.startswith("HUB_")}
    env["HUB_ENVIRONMENT"] = "no-such-environment"
    command = ["audit", "verify", str(export), "--public-key", _public_key(hub).text()]
    verified = subprocess.run(
        [sys.executable, "-c", _VERIFY_AND_NAME_IMPORTS, *command],
        env=env,
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: 4 entries, 1 signed checkpoints verified")
    # Neither the database layer, nor the GraphQL one, nor the hub's services were loaded to verify.
    assert verified.stderr.rstrip().endswith("[]"), verified.stderr


async def test_each_hub_process_sequences_and_signs_in_the_background(hub, clerk) -> None:
    hub.settings.audit_sequencer_interval = 0.05
    hub.settings.audit_checkpoint_seconds = 0.5
    worker = asyncio.create_task(Sequencer(hub).run_forever())
    try:
        assert not await Sequencer(hub).has_work()
        ctx = await clerk.context()
        await guard(ctx, Action.APPLICANT_LOOKUP, [PERSON_ID])
        await ctx.commit()
        await ctx.close()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not await Sequencer(hub).has_work():
                break
        async with hub.engine.connect() as connection:
            sequenced = (await connection.execute(text("SELECT seq FROM access_entries"))).scalars().all()
            signed = (await connection.execute(text("SELECT tree_size FROM audit_checkpoints"))).scalars().all()
        assert sequenced == [1] and signed == [1]
    finally:
        worker.cancel()


async def test_only_an_auditor_exports_and_a_refused_export_is_logged_and_writes_nothing(
    hub, client, clerk, tmp_path: Path
) -> None:
    await _activity(client, clerk, reads=1)
    env = {
        **os.environ,
        "HUB_DATABASE_URL": hub.settings.database_url,
        "HUB_SECRETS_DIR": str(hub.settings.secrets_dir),
    }
    export = tmp_path / "log.jsonl"
    hub_cli = [sys.executable, "-m", "app.cli", "audit", "export", str(export)]

    missing = subprocess.run(hub_cli, env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "HUB_AUDITOR_TOKEN" in missing.stderr
    as_clerk = subprocess.run(hub_cli, env={**env, "HUB_AUDITOR_TOKEN": clerk.token}, capture_output=True, text=True)
    assert as_clerk.returncode == 2 and "[FORBIDDEN]" in as_clerk.stderr
    unknown = subprocess.run(hub_cli, env={**env, "HUB_AUDITOR_TOKEN": "hub_nobody"}, capture_output=True, text=True)
    assert unknown.returncode == 2 and "[UNAUTHENTICATED]" in unknown.stderr
    assert list(tmp_path.iterdir()) == []  # neither the export nor a partial file
    async with hub.sessions() as session:
        rows = (
            await session.execute(text("SELECT role, outcome FROM access_entries WHERE action = 'audit.export'"))
        ).all()
    assert [tuple(row) for row in rows] == [("clerk", "denied")]
