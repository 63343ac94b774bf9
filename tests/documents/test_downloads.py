"""Downloading a material through a short-lived signed link: ranges, ETag, Chinese names, the log."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import event, select

from hub.access.principals import revoke_principal
from hub.documents.store import BlobRef
from hub.errors import BlobCorrupted
from storage.models import AccessEntry, Blob
from storage.models.base import utcnow
from tests.support.greenlets import greenlets_spawned
from tests.support.materials import data_of, load_material_types, pdf, register, resident_id, upload

PERSON = resident_id(11)
FILE_NAME = "张三 营业执照（副本）.pdf"


@pytest.fixture
async def uploaded(hub, client, clerk):
    """A clerk's upload of a 1 MB scan: (the bytes, the download path, the material)."""
    await load_material_types(hub)
    await register(client, clerk, PERSON, "张三")
    scan = pdf(1_000_000)
    material = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, scan, FILE_NAME))
    material = material["uploadMaterial"]
    return scan, urlsplit(material["currentVersion"]["downloadLink"]["url"]).path, material


async def test_a_download_streams_the_original_bytes_with_the_chinese_file_name(client, uploaded):
    scan, path, _ = uploaded
    response = await client.http.get(path)
    assert response.status_code == 200
    assert response.content == scan
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(scan))
    assert response.headers["accept-ranges"] == "bytes"
    disposition = response.headers["content-disposition"]
    fallback, extended = disposition.split("; filename*=")
    assert fallback == 'attachment; filename="__ ________.pdf"'  # what ASCII-only clients show
    assert extended.startswith("UTF-8''") and " " not in extended and extended.isascii()
    assert unquote(extended.removeprefix("UTF-8''"), encoding="utf-8") == FILE_NAME
    assert response.headers["etag"].startswith('"')


async def test_byte_ranges_are_served_decrypting_only_what_they_cover(client, uploaded):
    scan, path, _ = uploaded
    middle = await client.http.get(path, headers={"Range": "bytes=300000-700000"})
    assert middle.status_code == 206
    assert middle.content == scan[300000:700001]
    assert middle.headers["content-range"] == f"bytes 300000-700000/{len(scan)}"
    tail = await client.http.get(path, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == scan[-100:]
    rest = await client.http.get(path, headers={"Range": f"bytes={len(scan) - 10}-"})
    assert rest.content == scan[-10:]
    one_byte = await client.http.get(path, headers={"Range": "bytes=262144-262144"})
    assert one_byte.content == scan[262144:262145]
    beyond = await client.http.get(path, headers={"Range": f"bytes={len(scan)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(scan)}"
    several = await client.http.get(path, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == scan


async def test_etag_answers_conditional_requests(client, uploaded):
    scan, path, _ = uploaded
    etag = (await client.http.get(path)).headers["etag"]
    assert (await client.http.get(path, headers={"If-None-Match": etag})).status_code == 304
    same = await client.http.get(path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == scan[:10]
    changed = await client.http.get(path, headers={"Range": "bytes=0-9", "If-Range": '"something-else"'})
    assert changed.status_code == 200 and changed.content == scan


async def test_every_download_is_checked_and_logged(hub, client, uploaded):
    _, path, material = uploaded
    await client.http.get(path)
    await client.http.get(path, headers={"Range": "bytes=0-0"})
    async with hub.sessions() as session:
        entries = list(
            (await session.execute(select(AccessEntry).where(AccessEntry.action == "material.download"))).scalars()
        )
    assert len(entries) == 2
    assert {(e.applicant_ref, e.object_ref, e.material_types, e.outcome) for e in entries} == {
        (PERSON, f"material:{material['id']}/version:1", "id_card", "allowed")
    }


async def test_a_download_reads_past_the_orm_and_its_entry_joins_the_reads_group_commit(
    hub, client, uploaded, monkeypatch
):
    """A download's look-ups (its principal; the version with its material and blob) are short reads
    on the driver, and its entry, all it writes, goes with other reads' in one batch: nothing runs
    through SQLAlchemy's execute once the policy's own look-ups (the visit, the catalogue) are
    cached. Its fixed cost was mostly those look-ups (docs/documents.md, "Small files")."""
    scan, path, _ = uploaded
    await client.http.get(path, headers={"Range": "bytes=0-0"})  # the policy's look-ups, cached
    through_sqlalchemy: list[str] = []

    def seen(_connection, _cursor, statement, *_):
        through_sqlalchemy.append(statement)

    batched_before = hub.access_group_commit.requests
    spawned = greenlets_spawned(monkeypatch)
    event.listen(hub.engine.sync_engine, "before_cursor_execute", seen)
    try:
        response = await client.http.get(path, headers={"Range": "bytes=10-19"})
    finally:
        event.remove(hub.engine.sync_engine, "before_cursor_execute", seen)
    assert response.status_code == 206 and response.content == scan[10:20]
    assert through_sqlalchemy == []
    # The session's connection and its commit, the group commit's connection and its return: each
    # look-up taking the session's connection again, and closing a session holding none, made six.
    assert len(spawned) <= 4, spawned
    assert hub.access_group_commit.requests == batched_before + 1
    assert await _downloads_logged(hub) == 2


async def test_a_download_the_policy_refuses_is_logged_as_denied_and_serves_nothing(hub, client, clerk):
    """A link outlives the visit it was issued under: the download is refused and its entry, the
    request's only write, still reaches the log."""
    hub.settings.download_link_seconds = 24 * 3600
    await load_material_types(hub)
    await register(client, clerk, PERSON, "张三")
    material = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(10_000)))
    path = urlsplit(material["uploadMaterial"]["currentVersion"]["downloadLink"]["url"]).path
    hub.clock = lambda: utcnow() + timedelta(minutes=hub.settings.visit_minutes + 1)
    response = await client.http.get(path)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with hub.sessions() as session:
        query = select(AccessEntry.outcome).where(AccessEntry.action == "material.download")
        assert list((await session.execute(query)).scalars()) == ["denied"]


async def _downloads_logged(hub) -> int:
    async with hub.sessions() as session:
        query = select(AccessEntry).where(AccessEntry.action == "material.download")
        return len(list((await session.execute(query)).scalars()))


async def test_huge_range_positions_are_served_or_refused_and_only_served_ones_are_logged(hub, client, uploaded):
    """`bytes=0-999…9` (5000 digits) was logged as allowed, then failed as a plain-text 500."""
    scan, path, _ = uploaded
    nines = "9" * 5000
    whole = await client.http.get(path, headers={"Range": f"bytes=0-{nines}"})
    assert whole.status_code == 206 and whole.content == scan
    assert whole.headers["content-range"] == f"bytes 0-{len(scan) - 1}/{len(scan)}"
    suffix = await client.http.get(path, headers={"Range": f"bytes=-{nines}"})
    assert suffix.status_code == 206 and suffix.content == scan
    assert await _downloads_logged(hub) == 2

    for unsatisfiable in (f"bytes={nines}-", f"bytes={nines}-{nines}", f"bytes={len(scan)}-", "bytes=-0"):
        refused = await client.http.get(path, headers={"Range": unsatisfiable})
        assert refused.status_code == 416, unsatisfiable
        assert refused.headers["content-range"] == f"bytes */{len(scan)}"
    etag = whole.headers["etag"]
    voided = await client.http.get(path, headers={"Range": f"bytes={nines}-", "If-Range": '"another"'})
    assert voided.status_code == 200 and voided.content == scan  # If-Range voids the range: whole file
    matched = await client.http.get(path, headers={"Range": f"bytes={nines}-", "If-Range": etag})
    assert matched.status_code == 416
    assert await _downloads_logged(hub) == 3  # the 416s were never logged as downloads


async def test_links_expire_and_cannot_be_forged(hub, client, uploaded):
    _, path, _ = uploaded
    token = path.rsplit("/", 1)[1]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await client.http.get(f"/files/{forged}")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_DOWNLOAD_LINK"
    assert (await client.http.get("/files/not-a-token")).status_code == 403
    hub.clock = lambda: utcnow() + timedelta(seconds=hub.settings.download_link_seconds + 1)
    expired = await client.http.get(path)
    assert expired.status_code == 410
    assert expired.json()["errors"][0]["extensions"]["code"] == "DOWNLOAD_LINK_EXPIRED"


async def test_a_link_dies_with_the_principal_it_was_issued_to(hub, client, uploaded):
    _, path, _ = uploaded
    async with hub.sessions() as session:
        principal_id = (await session.execute(select(AccessEntry.principal_id).limit(1))).scalar_one()
        await revoke_principal(session, principal_id)
        await session.commit()
    response = await client.http.get(path)
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_links_survive_a_master_key_rotation(hub, client, uploaded):
    scan, path, _ = uploaded
    hub.documents.keyring.rotate_master_key()
    assert (await client.http.get(path)).content == scan


async def _tamper(hub, offset_from: str) -> bytes:
    """Flip one byte of the only stored object, at its start or in its last chunk."""
    store = hub.documents.store
    [obj] = list(store.objects())
    path = store.root / obj.name[:2] / obj.name
    data = bytearray(path.read_bytes())
    position = 10 if offset_from == "start" else len(data) - 20
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
    return bytes(data)


async def test_tampered_ciphertext_at_the_start_is_refused_with_a_clear_error(hub, client, uploaded):
    _, path, _ = uploaded
    await _tamper(hub, "start")
    response = await client.http.get(path)
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "BLOB_CORRUPTED"


async def test_tampered_ciphertext_further_in_is_never_returned_as_content(hub, client, clerk):
    await load_material_types(hub)
    await register(client, clerk, PERSON, "张三")
    scan = pdf(3_000_000)
    material = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, scan))
    path = urlsplit(material["uploadMaterial"]["currentVersion"]["downloadLink"]["url"]).path
    await _tamper(hub, "end")
    async with hub.sessions() as session:
        blob = BlobRef.of((await session.execute(select(Blob))).scalar_one())

    received = b""
    with pytest.raises(BlobCorrupted):
        async for piece in await hub.documents.open(blob):
            received += piece
    # Chunks before the altered one may go out; the altered one fails authentication and is never sent.
    assert scan.startswith(received) and len(received) < len(scan)
    # Over HTTP the response has begun, so it is cut off instead of completed (the server aborts it).
    with pytest.raises(BlobCorrupted):
        await client.http.get(path)
    ranged = await client.http.get(path, headers={"Range": "bytes=0-1000"})
    assert ranged.status_code == 206 and ranged.content == scan[:1001]  # untouched chunks still serve
