"""Two independent witnesses watch the hub's log: they cosign each checkpoint that extends the
last one they saw, refuse a history the database's owner rewrote and a split view, and an
auditor's witness policy (`--witness`, `--witness-threshold`) turns their absence into FAILED."""

from __future__ import annotations

import asyncio
import base64
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from hub.audit.checkpoint import Checkpoint, open_note, parse_body, sign_note
from hub.audit.cosignature import WitnessKey, add_signature_lines, cosignatures, parse_witness_key
from hub.audit.head import HeadStore
from hub.audit.merkle import node_hash
from hub.audit.verify import EntryTampered, Unwitnessed, verify_lines
from hub.audit.witnesses import ConfiguredWitness, add_checkpoint_body, request_cosignature
from hub.keys.keyring import Keyring
from hub.metrics import REGISTRY
from hub.settings import Settings
from hub.witness.protocol import Witness
from hub.witness.server import witness_app
from hub.witness.state import WitnessState
from storage.repositories import audit as repo
from tests.support.audit_log import export, hub_key, log_of, rewrite_history


@dataclass
class RunningWitness:
    url: str
    key: WitnessKey


@asynccontextmanager
async def serving(app, port: int = 0) -> AsyncIterator[str]:
    """Serve an ASGI app over real HTTP on loopback (a free port unless given) for the length of the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def witnesses(hub, tmp_path) -> AsyncIterator[list[RunningWitness]]:
    """Two witnesses, each with its own folder and key, that know the hub's log key; the hub is
    configured to ask both (HUB_WITNESSES)."""
    logs = {hub.settings.audit_origin: [hub_key(hub)]}
    async with serving_all(tmp_path, logs, ["witness.test/one", "witness.test/two"]) as running:
        hub.settings.witnesses = ",".join(f"{w.url} {w.key.text()}" for w in running)
        yield running


@asynccontextmanager
async def serving_all(tmp_path, logs, names) -> AsyncIterator[list[RunningWitness]]:
    if not names:
        yield []
        return
    state = WitnessState(tmp_path / names[0].replace("/", "-"))
    identity = state.identity(names[0])
    async with (
        serving(witness_app(Witness(state, identity, logs))) as url,
        serving_all(tmp_path, logs, names[1:]) as rest,
    ):
        yield [RunningWitness(url, identity.public), *rest]


def _failures(name: str) -> float:
    return REGISTRY.get_sample_value("hub_audit_witness_failures_total", {"witness": name}) or 0.0


async def test_witnesses_cosign_each_checkpoint_and_the_auditor_requires_them(
    hub, clerk, witnesses, hub_command, tmp_path
) -> None:
    keys = [w.key for w in witnesses]
    await log_of(hub, clerk, [100, 300, 301])
    async with hub.sessions() as session:
        stored = await repo.checkpoints(session)
    assert [c.tree_size for c in stored] == [100, 300, 301]
    assert all(len(cosignatures(c.note, keys)) == 2 for c in stored)

    lines = await export(hub)
    report = verify_lines(iter(lines), [hub_key(hub)], witnesses=keys, witness_threshold=2)
    assert (report.witnessed_size, report.cosigners) == (301, 2)

    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(lines))
    args = ["audit", "verify", str(path), "--public-key", hub_key(hub).text()]
    status, out, _ = await hub_command(*args, "--witness", keys[0].text(), "--witness", keys[1].text())
    assert status == 0 and "cosigned by 2 of 2 witnesses" in out
    # A witness the log never asked: a policy that needs it fails.
    stranger = WitnessState(tmp_path / "stranger").identity("witness.test/stranger").public
    status, out, _ = await hub_command(
        *args, "--witness", keys[0].text(), "--witness", stranger.text(), "--witness-threshold", "2"
    )
    assert status == 1 and out.startswith("FAILED at entry 1:") and "cosigned by 1 of the 2" in out
    status, out, _ = await hub_command(
        *args, "--witness", keys[0].text(), "--witness", stranger.text(), "--witness-threshold", "1"
    )
    assert status == 0


async def test_a_rewritten_history_is_refused_by_every_witness(hub, clerk, witnesses) -> None:
    keys = [w.key for w in witnesses]
    await log_of(hub, clerk, [200, 400, 700])
    refusals = [_failures(k.name) for k in keys]
    # The database's owner rewrites entry 300 with the tiles and the tree state; the head file and
    # its journal are gone too (an operator in league), so the hub's own check cannot stop it.
    await rewrite_history(hub, 300, keep_checkpoints_up_to=200)
    heads = HeadStore(hub.settings.secrets_dir)
    heads.path.unlink()
    heads.journal.unlink()
    await log_of(hub, clerk, [5])
    async with hub.sessions() as session:
        latest = await repo.latest_checkpoint(session)
    assert latest.tree_size == 705  # the hub signed the rewritten tree...
    assert cosignatures(latest.note, keys) == []  # ...and no witness cosigned it
    assert [_failures(k.name) for k in keys] == [r + 1 for r in refusals]

    lines = await export(hub)
    verify_lines(iter(lines), [hub_key(hub)])  # with the hub's key alone it looks fine
    with pytest.raises(Unwitnessed) as failure:
        verify_lines(iter(lines), [hub_key(hub)], witnesses=keys, witness_threshold=1)
    assert failure.value.seq == 201  # the last checkpoint the witnesses cosigned holds 200 entries


async def test_a_split_view_is_refused_and_caught(hub, clerk, witnesses) -> None:
    await log_of(hub, clerk, [50])
    async with hub.sessions() as session:
        shown = (await repo.latest_checkpoint(session)).note
    # Another view of the same size, validly signed with the hub's key, for another reader.
    body = parse_body(open_note(shown)[0])
    other = Checkpoint(body.origin, body.tree_size, node_hash(body.root_hash, body.root_hash), body.signed_at)
    forked = sign_note(other.body(), body.origin, [Keyring(hub.settings.secrets_dir).current_signing_key().private_key])
    async with httpx.AsyncClient() as http:
        for witness in witnesses:
            answer = await http.post(f"{witness.url}/add-checkpoint", content=add_checkpoint_body(50, [], forked))
            # C2SP tlog-witness: same size, another root: 409 Conflict (not the size answer).
            assert answer.status_code == 409 and "split view" in answer.text
            assert not answer.headers["content-type"].startswith("text/x.tlog.size")
    with pytest.raises(EntryTampered, match="differs from the one you kept"):
        verify_lines(iter(await export(hub)), [hub_key(hub)], kept_checkpoints=[forked])


async def test_the_witness_answers_as_tlog_witness_says(hub, clerk, witnesses) -> None:
    await log_of(hub, clerk, [10])
    async with hub.sessions() as session:
        note = (await repo.latest_checkpoint(session)).note
    url = witnesses[0].url + "/add-checkpoint"
    stranger = Keyring(hub.settings.secrets_dir.parent / "elsewhere").current_signing_key().private_key
    unknown_origin = sign_note(
        parse_body(open_note(note)[0]).body().replace("hub.local", "other.local", 1),
        "other.local/access-log",
        [stranger],
    )
    async with httpx.AsyncClient() as http:
        stale = await http.post(url, content=add_checkpoint_body(0, [], note))
        assert stale.status_code == 409 and stale.headers["content-type"] == "text/x.tlog.size"
        assert stale.text == "10\n"
        same = await http.post(url, content=add_checkpoint_body(10, [], note))
        assert same.status_code == 200 and same.text.startswith("\u2014 witness.test/one ")
        assert len(base64.b64decode(same.text.split()[-1])) == 4 + 8 + 64
        assert (await http.post(url, content=b"old x\n\n" + note.encode())).status_code == 400
        assert (await http.post(url, content=add_checkpoint_body(11, [], note))).status_code == 400
        assert (await http.post(url, content=add_checkpoint_body(0, [], unknown_origin))).status_code == 404
        body = parse_body(open_note(note)[0]).body()
        self_signed = sign_note(body, parse_body(body).origin, [stranger])
        assert (await http.post(url, content=add_checkpoint_body(10, [], self_signed))).status_code == 403


async def test_a_new_witness_at_an_old_address_is_asked_afresh(hub, clerk, tmp_path) -> None:
    """What the hub learnt of one witness's size is not carried over to another at the same URL
    (the suite's witnesses reuse freed ports; an operator may replace a witness behind its address)."""
    logs = {hub.settings.audit_origin: [hub_key(hub)]}
    await log_of(hub, clerk, [10, 20])
    async with hub.sessions() as session:
        first, second = [c.note for c in await repo.checkpoints(session)]

    async def no_proof(old: int) -> list[bytes]:
        assert old == 0
        return []

    async def cosigned_by(name: str, size: int, note: str, port: int = 0) -> tuple[str, str]:
        state = WitnessState(tmp_path / name)
        identity = state.identity(f"witness.test/{name}")
        async with serving(witness_app(Witness(state, identity, logs)), port) as url, httpx.AsyncClient() as client:
            witness = ConfiguredWitness(url, identity.public)
            line = await request_cosignature(client, witness, hub.settings.audit_origin, size, note, no_proof)
        assert cosignatures(add_signature_lines(note, [line]), [identity.public])
        return url, line

    url, _ = await cosigned_by("old", 20, second)
    await cosigned_by("new", 10, first, port=int(url.rsplit(":", 1)[1]))


async def test_hub_witness_serve_runs_a_witness_from_its_folder(hub, clerk, hub_command, tmp_path) -> None:
    """The witness as an operator runs it: `hub witness key`, then `hub witness serve` in its own process."""
    state = tmp_path / "witness"
    args = ["--state", str(state), "--name", "witness.test/cli"]
    status, out, _ = await hub_command("witness", "key", *args)
    assert status == 0 and out.startswith("witness.test/cli+")
    key = parse_witness_key(out.strip())
    assert (await hub_command("witness", "key", *args))[1] == out  # kept in its folder
    assert (state / "witness-key.json").stat().st_mode & 0o777 == 0o600
    status, _, err = await hub_command("witness", "key", "--state", str(state), "--name", "witness.test/other")
    assert status == 2 and "not 'witness.test/other'" in err

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "witness",
        "serve",
        *args,
        "--log",
        hub_key(hub).text(),
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert b"witnessing hub.local/access-log" in (
            await asyncio.wait_for(process.stdout.readline(), 30)
            + await asyncio.wait_for(process.stdout.readline(), 30)
        )
        hub.settings.witnesses = f"http://127.0.0.1:{port} {key.text()}"
        for _ in range(100):  # until uvicorn listens
            try:
                async with httpx.AsyncClient() as http:
                    await http.post(f"http://127.0.0.1:{port}/add-checkpoint", content=b"")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
        await log_of(hub, clerk, [20])
        async with hub.sessions() as session:
            note = (await repo.latest_checkpoint(session)).note
        assert [c.witness for c in cosignatures(note, [key])] == [key]
    finally:
        process.terminate()
        await process.wait()


def test_hub_witnesses_must_be_url_key_pairs(tmp_path) -> None:
    with pytest.raises(ValueError, match="is not `URL KEY`"):
        Settings(secrets_dir=tmp_path, witnesses="http://127.0.0.1:7380")
    assert Settings(secrets_dir=tmp_path, witnesses=" http://a k , http://b k ").witnesses
