"""An outsider's verifier, in JavaScript, written from docs/audit-log.md alone, against the real hub.

The log is filled, proved and exported only through the documented paths (GraphQL as an auditor
and a clerk, `hub principal create`, `hub audit public-keys`, `hub audit checkpoint`, `hub audit
export --token-file`), then `node tests/audit/verifier_js/verify.mjs` must say OK, and FAILED at
the right entry once the export is tampered with. Node is required: without it the test fails.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from base64 import b64encode
from contextlib import contextmanager
from datetime import date
from hashlib import sha256
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.settings import get_settings
from tests.support.case_stories import OPEN, at, load, register, resident_id

# One item, one department, one material: a case nobody accepts in time is closed by the hub.
ABANDONED_CATALOG = """
material_types:
  - {code: sqb, name: 申请表}
service_items:
  - code: sw-djb
    name: 税务登记
    lead_department: sw
    statutory_days: 20
    promised_days: 5
    materials: [{type: sqb}]
"""

VERIFIER = Path(__file__).parent / "verifier_js" / "verify.mjs"

STATISTICS = " ".join(f"s{i}: accessStatistics {{ count }}" for i in range(25))
LATEST = "{ latestCheckpoint { treeSize rootHash note } }"
CHECKPOINT = "treeSize rootHash note"
INCLUSION = f"""query($seq: Int!, $size: Int) {{ inclusionProof(seq: $seq, treeSize: $size) {{
  seq leafIndex treeSize entry leafHash hashes checkpoint {{ {CHECKPOINT} }} }} }}"""
CONSISTENCY = f"""query($old: Int!, $new: Int) {{ consistencyProof(oldSize: $old, newSize: $new) {{
  oldSize newSize hashes oldCheckpoint {{ {CHECKPOINT} }} newCheckpoint {{ {CHECKPOINT} }} }} }}"""


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (Node.js 18 or later) is required for the independent verifier", pytrace=False)
    return path


def verify(export: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [node(), str(VERIFIER), str(export), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode in (0, 1, 2), done.stderr
    return done.returncode, done.stdout + done.stderr


def fresh_key(origin: str) -> str:
    """A verifier key of the log's name for an Ed25519 key the hub never had."""
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = sha256(origin.encode() + b"\n\x01" + public).digest()[:4]
    encoded = b64encode(bytes([1]) + public).decode()
    return f"{origin}+{key_id.hex()}+{encoded}"


async def build_log(client, hub_command, clerk, tmp_path: Path) -> tuple[str, Path, Path]:
    """A log of more than one tile and several checkpoints; returns the verifier key, the export
    and the proofs fetched over GraphQL."""
    status, out, err = await hub_command(
        "principal", "create", "--name", "外部审计员", "--role", "auditor", "--department", "jcj"
    )
    assert status == 0, err
    token = re.search(r"hub_\S+", out)
    assert token, out
    auditor = token.group(0)

    sizes = []
    for round_ in range(12):
        # 25 accesses in one request, each an entry; a clerk's refused search; a purpose in Chinese.
        await client.execute(f"{{ {STATISTICS} }}", token=auditor)
        await client.post("{ accessLog(first: 1) { edges { node { seq } } } }", token=clerk.token)
        await client.post(
            "{ accessStatistics { count } }", token=auditor, purpose="supervision:%E7%9B%91%E5%AF%9F-" + str(round_)
        )
        if round_ % 4 == 3:
            sizes.append((await client.execute(LATEST, token=auditor))["latestCheckpoint"]["treeSize"])
    status, out, err = await hub_command("audit", "checkpoint")
    assert status == 0, out + err
    latest = (await client.execute(LATEST, token=auditor))["latestCheckpoint"]["treeSize"]
    assert latest > 256 and len(set(sizes)) == 3, (latest, sizes)

    proofs: dict[str, list] = {"inclusion": [], "consistency": []}
    for seq, size in [(1, None), (5, sizes[0]), (257, None), (sizes[1], sizes[1]), (latest, None)]:
        data = await client.execute(INCLUSION, {"seq": seq, "size": size}, token=auditor)
        proofs["inclusion"].append(data["inclusionProof"])
    for old, new in [(0, None), (7, sizes[1]), (sizes[0], sizes[2]), (256, None), (sizes[2], sizes[2])]:
        data = await client.execute(CONSISTENCY, {"old": old, "new": new}, token=auditor)
        proofs["consistency"].append(data["consistencyProof"])
    proofs_file = tmp_path / "proofs.json"
    proofs_file.write_text(json.dumps(proofs, ensure_ascii=False))

    status, out, err = await hub_command("audit", "public-keys")
    assert status == 0, err
    key = out.strip()

    token_file = tmp_path / "auditor.token"
    token_file.write_text(auditor + "\n")
    export = tmp_path / "export.jsonl"
    status, out, err = await hub_command("audit", "export", str(export), "--token-file", str(token_file))
    assert status == 0, out + err
    return key, export, proofs_file


def entry_lines(lines: list[bytes]) -> dict[int, int]:
    """seq -> index in `lines` of that entry's line."""
    return {json.loads(line)["seq"]: i for i, line in enumerate(lines) if line.startswith(b'{"action":')}


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


async def test_the_javascript_verifier_checks_the_hubs_export_and_names_tampered_entries(
    hub, client, hub_command, clerk, tmp_path
):
    node()
    key, export, proofs = await build_log(client, hub_command, clerk, tmp_path)
    origin = hub.settings.audit_origin

    status, out = verify(export, "--key", key, "--proofs", str(proofs))
    assert status == 0 and out.startswith("OK: "), out
    assert out.count(": verified") == 10, out
    lines = export.read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    n = header["tree_size"]
    assert f"OK: {n} entries, {header['checkpoints']} checkpoints" in out
    at = entry_lines(lines)
    assert sorted(at) == list(range(1, n + 1))

    def tampered(name: str, change) -> Path:
        copy = list(lines)
        change(copy)
        return write(tmp_path / name, copy)

    def edit(seq: int):
        def change(copy: list[bytes]) -> None:
            entry = json.loads(copy[at[seq]])
            entry["purpose"] = "basis:covered-up"
            copy[at[seq]] = (
                json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            )

        return change

    def delete(seq: int):
        return lambda copy: copy.pop(at[seq])

    def swap(a: int, b: int):
        def change(copy: list[bytes]) -> None:
            copy[at[a]], copy[at[b]] = copy[at[b]], copy[at[a]]

        return change

    def insert(seq: int):
        def change(copy: list[bytes]) -> None:
            forged = json.loads(copy[at[seq]])
            forged["purpose"] = "basis:forged"
            encoded = json.dumps(forged, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
            copy.insert(at[seq], encoded + b"\n")

        return change

    cases = [
        ("insert.jsonl", insert(5), 5, "inserted"),
        ("edit.jsonl", edit(7), 7, "changed"),
        ("edit-second-tile.jsonl", edit(300), 300, "changed"),
        ("delete.jsonl", delete(9), 9, "missing"),
        ("delete-first.jsonl", delete(1), 1, "missing"),
        ("swap.jsonl", swap(20, 21), 20, "swapped"),
        ("swap-far.jsonl", swap(3, 260), 3, "swapped"),
        ("truncate.jsonl", lambda copy: copy.__delitem__(slice(-3, None)), n - 2, "missing"),
        ("cut.jsonl", lambda copy: copy.__setitem__(-1, copy[-1][:40]), n, "changed"),
    ]
    for name, change, seq, what in cases:
        status, out = verify(tampered(name, change), "--key", key)
        assert status == 1 and out.startswith(f"FAILED at entry {seq}: "), (name, out)
        assert what in out.splitlines()[0], (name, out)
        # The hub's own verifier, read from the same page, names the same entry.
        status, out, _ = await hub_command("audit", "verify", str(tmp_path / name), "--public-key", key)
        assert status == 1 and out.startswith(f"FAILED at entry {seq}: "), (name, out)
        if name in ("insert.jsonl", "delete.jsonl", "delete-first.jsonl"):  # the later lines kept their numbers
            assert "renumbered" not in out, (name, out)

    # History cut back to an earlier checkpoint, with the checkpoints after it: consistent on its
    # own, caught by a checkpoint the auditor kept.
    first = json.loads(lines[1])["checkpoint"]
    cut_size = int(first.split("\n")[1])
    kept = tmp_path / "kept-checkpoint.note"
    kept.write_text(json.loads(lines[header["checkpoints"]])["checkpoint"])
    leaf_hashes = b"".join(
        base64.b64decode(json.loads(line)["leaf_hashes"]) for line in lines if line.startswith(b'{"tile":')
    )
    short = [
        (json.dumps({**header, "tree_size": cut_size, "checkpoints": 1}) + "\n").encode(),
        lines[1],
        (
            json.dumps(
                {"tile": 0, "entries": cut_size, "leaf_hashes": b64encode(leaf_hashes[: 32 * cut_size]).decode()}
            )
            + "\n"
        ).encode(),
        *[lines[at[seq]] for seq in range(1, cut_size + 1)],
    ]
    write(tmp_path / "cut-back.jsonl", short)
    status, out = verify(tmp_path / "cut-back.jsonl", "--key", key)
    assert status == 0 and out.startswith(f"OK: {cut_size} entries, 1 checkpoints"), out
    status, out = verify(tmp_path / "cut-back.jsonl", "--key", key, "--checkpoint", str(kept))
    assert status == 1 and out.startswith(f"FAILED at entry {cut_size + 1}: the export ends at {cut_size}"), out
    status, out = verify(export, "--key", key, "--checkpoint", str(kept))
    assert status == 0 and out.startswith("OK: "), out

    # The same log as static tiles with entry bundles (C2SP tlog-tiles).
    published = tmp_path / "published"
    status, out, err = await hub_command(
        "audit", "publish", str(published), "--entries", "--token-file", str(tmp_path / "auditor.token")
    )
    assert status == 0, out + err
    status, out = verify(published, "--key", key)
    assert status == 0 and out.startswith("OK: tiles of tree size ") and " entries match their leaf hashes" in out, out
    bundle = published / "tile" / "entries" / "000"
    original = bundle.read_bytes()
    at_seven = original.rindex(b'{"action":', 0, original.index(b'"seq":7,'))
    changed = original[:at_seven] + original[at_seven:].replace(b'"allowed"', b'"Allowed"', 1)
    bundle.write_bytes(changed)
    status, out = verify(published, "--key", key)
    assert status == 1 and out.startswith("FAILED at entry 7: changed"), out
    bundle.write_bytes(original)
    tile = published / "tile" / "0" / "000"
    hashes = bytearray(tile.read_bytes())
    hashes[40] ^= 1
    tile.write_bytes(bytes(hashes))
    status, out = verify(published, "--key", key)
    assert status == 1 and out.startswith("FAILED: the level-0 tiles do not rebuild the signed root"), out

    status, out = verify(export, "--key", fresh_key(origin))
    assert status == 1 and out.startswith("FAILED: ") and "no valid signature by a trusted key" in out, out

    # A checkpoint line with a byte of its signed body changed is not signed by the key.
    forged = tampered(
        "forged-checkpoint.jsonl", lambda copy: copy.__setitem__(1, copy[1].replace(b"\\ntime ", b"\\ntime 1"))
    )
    status, out = verify(forged, "--key", key)
    assert status == 1 and out.startswith("FAILED: ") and "no valid signature by a trusted key" in out, out

    # A witness the auditor requires has cosigned nothing here.
    status, out, err = await hub_command(
        "witness", "key", "--state", str(tmp_path / "witness"), "--name", "witness.test"
    )
    assert status == 0, err
    status, out = verify(export, "--key", key, "--witness", out.strip())
    assert status == 1 and out.startswith("FAILED at entry 1: the newest checkpoint"), out
    assert "cosigned by 0 of the 1 witnesses required" in out, out

    status, out = verify(export, "--key", "hub.local/access-log+00000000+AAAA")
    assert status == 2, out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def witness_server(state: Path, name: str, log_keys: Path):
    """`hub witness serve` in its own process, as another organisation would run it."""
    port = free_port()
    hub_cli = str(Path(sys.executable).parent / "hub")
    process = subprocess.Popen(
        [
            hub_cli,
            "witness",
            "serve",
            "--state",
            str(state),
            "--name",
            name,
            "--log",
            str(log_keys),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the witness did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_javascript_verifier_follows_a_key_rotation_and_checks_witness_cosignatures(
    hub, client, hub_command, tmp_path, monkeypatch
):
    node()
    status, out, err = await hub_command(
        "principal", "create", "--name", "审计员", "--role", "auditor", "--department", "jcj"
    )
    assert status == 0, err
    auditor = re.search(r"hub_\S+", out).group(0)  # type: ignore[union-attr]
    token_file = tmp_path / "auditor.token"
    token_file.write_text(auditor + "\n")
    for _ in range(3):
        await client.execute(f"{{ {STATISTICS} }}", token=auditor)
    assert (await hub_command("audit", "checkpoint"))[0] == 0
    old_key = (await hub_command("audit", "public-keys"))[1].strip()
    status, out, err = await hub_command("keys", "rotate", "--kind", "signing")
    assert status == 0, err
    keys = (await hub_command("audit", "public-keys"))[1].split()
    new_key = next(k for k in keys if k != old_key)
    keys_file = tmp_path / "hub-keys.txt"
    keys_file.write_text("\n".join(keys) + "\n")

    witnesses = []
    for name in ["witness.test/w1", "witness.test/w2"]:
        status, out, err = await hub_command("witness", "key", "--state", str(tmp_path / name), "--name", name)
        assert status == 0, err
        witnesses.append(out.strip())
    with witness_server(tmp_path / "witness.test/w1", "witness.test/w1", keys_file) as url:
        monkeypatch.setenv("HUB_WITNESSES", f"{url} {witnesses[0]}")
        get_settings.cache_clear()
        await client.execute(f"{{ {STATISTICS} }}", token=auditor)
        status, out, err = await hub_command("audit", "checkpoint")
        assert status == 0, out + err
        export = tmp_path / "export.jsonl"
        status, out, err = await hub_command("audit", "export", str(export), "--token-file", str(token_file))
        assert status == 0, out + err

    # Either key alone: the other is learnt from the checkpoint the two co-signed.
    for trusted, learnt in [(old_key, new_key), (new_key, old_key)]:
        status, out = verify(export, "--key", trusted, "--witness", witnesses[0])
        assert status == 0 and out.startswith("OK: "), out
        assert f"key {learnt} learnt from the co-signed checkpoint" in out, out
        assert "witnessed: " in out, out

    status, out = verify(
        export, "--key", old_key, "--witness", witnesses[0], "--witness", witnesses[1], "--threshold", "1"
    )
    assert status == 0 and "cosigned by 1 of 2 witnesses (1 required)" in out, out
    status, out = verify(export, "--key", old_key, "--witness", witnesses[0], "--witness", witnesses[1])
    assert status == 1 and "cosigned by 1 of the 2 witnesses required" in out, out

    # A cosignature with a byte changed no longer counts.
    lines = export.read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    newest = header["checkpoints"]
    note = json.loads(lines[newest])["checkpoint"]
    cosignature = next(line for line in note.splitlines() if line.startswith("— witness.test/w1 "))
    value = cosignature.split(" ")[2]
    flipped = value[:20] + ("A" if value[20] != "A" else "B") + value[21:]
    lines[newest] = (json.dumps({"checkpoint": note.replace(value, flipped)}, ensure_ascii=False) + "\n").encode()
    status, out = verify(write(tmp_path / "bad-cosignature.jsonl", lines), "--key", old_key, "--witness", witnesses[0])
    assert status == 1 and "cosigned by 0 of the 1 witnesses required" in out, out


async def test_the_javascript_verifier_accepts_the_hubs_own_entries(hub, client, clerk, hub_command, tmp_path):
    """`case.abandon` is written by the hub itself: no principal, role `system` (docs/audit-log.md)."""
    node()
    await load(hub, ABANDONED_CATALOG)
    at(hub, date(2025, 9, 26))
    applicant = resident_id("11010219820202456")
    await register(client, clerk, applicant, "李四")
    opened = {"i": {"idNumber": applicant, "items": ["sw-djb"], "window": "综合窗口 1"}}
    await client.execute(OPEN, opened, token=clerk.token)
    status, out, err = await hub_command("cases", "close-abandoned")
    assert status == 0 and out.startswith("closed 1 cases"), out + err

    status, out, err = await hub_command(
        "principal", "create", "--name", "审计员", "--role", "auditor", "--department", "jcj"
    )
    assert status == 0, err
    token_file = tmp_path / "auditor.token"
    token_file.write_text(re.search(r"hub_\S+", out).group(0) + "\n")  # type: ignore[union-attr]
    export = tmp_path / "export.jsonl"
    status, out, err = await hub_command("audit", "export", str(export), "--token-file", str(token_file))
    assert status == 0, out + err
    system = [line for line in export.read_bytes().splitlines() if b'"role":"system"' in line]
    assert len(system) == 1 and b'"principal":null' in system[0] and b'"department":""' in system[0], system
    key = (await hub_command("audit", "public-keys"))[1].strip()
    status, out = verify(export, "--key", key)
    assert status == 0 and out.startswith("OK: "), out


def test_without_node_these_tests_fail_rather_than_skip(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="node"):
        node()
