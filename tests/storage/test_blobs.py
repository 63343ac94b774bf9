"""The blob stores and the document store over them: S3 (a real moto server) and a local folder,
deduplication, gc that never races a write, and master key rotation that only re-wraps keys."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.documents.materials import FileUpload, NewMaterial, upload_material
from hub.documents.store import BlobRef
from hub.errors import BlobStoreUnavailable
from hub.identifiers import ApplicantKind
from hub.profiles.applicants import register_applicant
from hub.services import build_hub
from storage.blobs import BlobStoreError, open_blob_store
from storage.blobs.s3 import S3BlobStore
from storage.models import Blob, BlobState
from storage.models.base import utcnow
from tests.support.materials import acting, load_material_types, pdf, resident_id
from tests.support.s3_server import ACCESS_KEY, SECRET_KEY, S3Server

PERSON = resident_id(21)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["s3", "folder"])
async def store_hub(request, hub, s3_server: S3Server, tmp_path):
    """A hub on the test database whose blob store is a fresh bucket on moto, or a fresh folder."""
    folder = f"file://{tmp_path / 'folder-blobs'}"
    url = s3_server.blob_url(s3_server.new_bucket()) if request.param == "s3" else folder
    other = build_hub(hub.settings.model_copy(update={"blob_url": url}))
    yield other
    await other.close()


async def blob_rows(hub) -> list[Blob]:
    async with hub.sessions() as session:
        return list((await session.execute(select(Blob).order_by(Blob.id))).scalars())


def objects(hub) -> dict[str, int]:
    return {obj.name: obj.size for obj in hub.documents.store.objects()}


async def age_claims(hub, by: timedelta) -> None:
    async with hub.sessions() as session:
        for blob in (await session.execute(select(Blob))).scalars():
            blob.claimed_at -= by
        await session.commit()


# the S3 store itself ---------------------------------------------------------------------------


def test_the_s3_store_puts_reads_ranges_lists_and_deletes(s3_server: S3Server) -> None:
    store = open_blob_store(s3_server.blob_url(s3_server.new_bucket()))
    data = os.urandom(9 * 1024 * 1024)  # over one 8 MiB part: a real multipart upload
    store.check()
    store.put("abc123", io.BytesIO(data), len(data))
    assert store.exists("abc123") and not store.exists("abc999")
    assert b"".join(store.read("abc123", 0, len(data))) == data
    assert b"".join(store.read("abc123", 5_000_000, 100)) == data[5_000_000:5_000_100]
    assert [(o.name, o.size) for o in store.objects()] == [("abc123", len(data))]
    store.delete("abc123")
    assert list(store.objects()) == []


def test_credentials_may_come_from_settings_instead_of_the_url(s3_server: S3Server) -> None:
    url = s3_server.blob_url(s3_server.new_bucket(), credentials_in_url=False)
    open_blob_store(url, access_key=ACCESS_KEY, secret_key=SECRET_KEY).check()


def test_an_unknown_bucket_or_a_dead_endpoint_fails_the_check(s3_server: S3Server) -> None:
    with pytest.raises(BlobStoreError, match="does not exist"):
        open_blob_store(s3_server.blob_url("no-such-bucket")).check()
    dead = S3BlobStore(endpoint="127.0.0.1:9", bucket="x", access_key="a", secret_key="b", secure=False)
    with pytest.raises(BlobStoreError):
        dead.check()


def test_interrupted_multipart_uploads_are_aborted_by_cleanup(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    store = open_blob_store(s3_server.blob_url(bucket))
    client = s3_server.client()
    client._create_multipart_upload(bucket, "interrupted", {})
    assert store.remove_partial_writes(utcnow() + HOUR) == 1
    assert client._list_multipart_uploads(bucket).uploads == []


# the document store over both stores -----------------------------------------------------------


async def test_equal_bytes_become_one_blob_and_read_back_in_ranges(store_hub) -> None:
    data = os.urandom(700_000)
    first = await store_hub.documents.put(io.BytesIO(data), len(data))
    again = await store_hub.documents.put(io.BytesIO(data), len(data))
    assert first.id == again.id and len(objects(store_hub)) == 1
    assert await store_hub.documents.read_all(first) == data
    part = b"".join([p async for p in await store_hub.documents.open(first, 262_000, 600_000)])
    assert part == data[262_000:600_001]


async def test_two_uploads_of_the_same_new_file_at_once_store_it_once(store_hub) -> None:
    data = os.urandom(3_000_000)
    first, second = await asyncio.gather(
        store_hub.documents.put(io.BytesIO(data), len(data)), store_hub.documents.put(io.BytesIO(data), len(data))
    )
    assert first.id == second.id and len(objects(store_hub)) == 1
    assert [row.state for row in await blob_rows(store_hub)] == [BlobState.STORED.value]
    assert await store_hub.documents.read_all(second) == data


async def test_blob_names_are_keyed_not_plain_hashes(store_hub) -> None:
    import hashlib

    data = os.urandom(1000)
    blob = await store_hub.documents.put(io.BytesIO(data), len(data))
    assert blob.name != hashlib.sha256(data).hexdigest()
    assert len(blob.name) == 64


async def test_a_blob_whose_object_went_missing_is_written_again(store_hub) -> None:
    data = os.urandom(5000)
    blob = await store_hub.documents.put(io.BytesIO(data), len(data))
    store_hub.documents.store.delete(blob.name)
    again = await store_hub.documents.put(io.BytesIO(data), len(data))
    assert again.id == blob.id and await store_hub.documents.read_all(again) == data


async def test_gc_collects_only_unreferenced_blobs_past_the_grace_period(store_hub, clerk) -> None:
    await load_material_types(store_hub)
    kept = pdf()
    async with acting(store_hub, clerk) as ctx:
        await register_applicant(ctx, ApplicantKind.PERSON, PERSON, "张三")
    async with acting(store_hub, clerk) as ctx:
        await upload_material(
            ctx, NewMaterial(PERSON, "id_card"), FileUpload.of_bytes(kept, "a.pdf", "application/pdf")
        )
    dropped = await store_hub.documents.put(io.BytesIO(b"%PDF-dropped"), 12)  # a write whose case never committed

    report = await store_hub.documents.collect_garbage()
    assert report.blobs_deleted == 0  # everything is younger than the grace period
    await age_claims(store_hub, 2 * HOUR)
    report = await store_hub.documents.collect_garbage()
    assert report.blobs_deleted == 1
    [remaining] = await blob_rows(store_hub)
    assert remaining.name != dropped.name and set(objects(store_hub)) == {remaining.name}
    assert await store_hub.documents.read_all(BlobRef.of(remaining)) == kept


async def test_gc_never_touches_a_write_in_flight(store_hub) -> None:
    """A write stalls halfway through streaming its ciphertext; gc runs meanwhile and spares it."""
    release, halfway = threading.Event(), threading.Event()
    data = os.urandom(3_000_000)

    class StallingSource(io.BytesIO):
        passes = 0

        def seek(self, offset: int, whence: int = 0) -> int:
            if offset == 0 and whence == 0:
                self.passes += 1
            return super().seek(offset, whence)

        def read(self, n: int = -1) -> bytes:
            if self.passes == 2 and self.tell() > len(data) // 2 and not halfway.is_set():
                halfway.set()
                release.wait(30)
            return super().read(n)

    writing = asyncio.create_task(store_hub.documents.put(StallingSource(data), len(data)))
    await asyncio.to_thread(halfway.wait, 30)
    [pending] = await blob_rows(store_hub)
    assert pending.state == BlobState.PENDING.value
    report = await store_hub.documents.collect_garbage()
    assert (report.blobs_deleted, report.orphan_objects_deleted, report.partial_writes_removed) == (0, 0, 0)
    release.set()
    blob = await writing
    [stored] = await blob_rows(store_hub)
    assert stored.state == BlobState.STORED.value and await store_hub.documents.read_all(blob) == data


async def test_a_writer_deduplicating_onto_an_old_blob_saves_it_from_gc(store_hub) -> None:
    data = os.urandom(4000)
    await store_hub.documents.put(io.BytesIO(data), len(data))
    await age_claims(store_hub, 2 * HOUR)
    reused = await store_hub.documents.put(io.BytesIO(data), len(data))  # claims it afresh
    report = await store_hub.documents.collect_garbage()
    assert report.blobs_deleted == 0
    assert await store_hub.documents.read_all(reused) == data


async def test_gc_removes_objects_no_row_knows_and_abandoned_pending_rows(store_hub) -> None:
    store = store_hub.documents.store
    store.put("0rphan", io.BytesIO(b"x" * 10), 10)
    async with store_hub.sessions() as session:
        session.add(
            Blob(name="ab" * 32, size=1, chunk_size=1, key_id="k", wrapped_key=b"w", state=BlobState.PENDING.value)
        )
        await session.commit()
    report = await store_hub.documents.collect_garbage(now=utcnow() + 2 * HOUR)
    assert (report.blobs_deleted, report.orphan_objects_deleted) == (1, 1)
    assert await blob_rows(store_hub) == [] and objects(store_hub) == {}


async def test_a_store_that_fails_leaves_no_row_behind(hub) -> None:
    dead = build_hub(hub.settings.model_copy(update={"blob_url": "s3://gone?endpoint=127.0.0.1:9&secure=false"}))
    try:
        with pytest.raises(BlobStoreUnavailable):
            await dead.documents.put(io.BytesIO(b"%PDF-1"), 6)
        assert await blob_rows(dead) == []
    finally:
        await dead.close()


# operations ------------------------------------------------------------------------------------


@pytest.fixture
def hub_command(store_hub, monkeypatch, capsys):
    """Run the real `hub` entry point against the test database and store."""
    from app.cli import main
    from hub.settings import get_settings

    settings = store_hub.settings
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HUB_BLOB_URL", settings.blob_url)
    monkeypatch.setenv("HUB_SECRETS_DIR", str(settings.secrets_dir))
    get_settings.cache_clear()

    async def run(*args: str) -> str:
        capsys.readouterr()
        await asyncio.to_thread(main, list(args))
        return capsys.readouterr().out

    yield run
    get_settings.cache_clear()


async def test_rotating_the_master_key_rewraps_data_keys_and_leaves_blobs_untouched(store_hub, hub_command) -> None:
    contents = [os.urandom(300_000 + i) for i in range(3)]
    blobs = [await store_hub.documents.put(io.BytesIO(c), len(c)) for c in contents]
    store = store_hub.documents.store
    before = {b.name: b"".join(store.read(b.name, 0, 10**9)) for b in blobs}
    old_key = {row.key_id for row in await blob_rows(store_hub)}

    out = await hub_command("keys", "rotate", "--kind", "master")
    assert "re-wrapped 3 blob data keys" in out

    rows = await blob_rows(store_hub)
    new_key = store_hub.documents.keyring.current_master_key()[0]
    assert {row.key_id for row in rows} == {new_key} and new_key not in old_key
    assert {b.name: b"".join(store.read(b.name, 0, 10**9)) for b in blobs} == before  # not re-encrypted
    refreshed = await store_hub.documents.blobs([b.id for b in blobs])
    assert [await store_hub.documents.read_all(refreshed[b.id]) for b in blobs] == contents
    again = await store_hub.documents.put(io.BytesIO(contents[0]), len(contents[0]))
    assert again.id == blobs[0].id  # names stay stable across rotations, so dedupe still works


async def test_hub_blobs_gc_reports_what_it_removed(store_hub, hub_command) -> None:
    await store_hub.documents.put(io.BytesIO(b"%PDF-orphaned"), 13)
    assert "deleted 0 unreferenced blobs" in await hub_command("blobs", "gc")
    assert "deleted 1 unreferenced blobs" in await hub_command("blobs", "gc", "--grace-seconds", "0")
    assert await blob_rows(store_hub) == []


async def test_readiness_reports_the_blob_store(store_hub, s3_server: S3Server) -> None:
    import httpx

    from app.asgi import create_app

    async def ready(hub) -> tuple[int, dict]:
        transport = httpx.ASGITransport(app=create_app(hub.settings, hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            response = await http.get("/readyz")
            return response.status_code, response.json()["checks"]

    status, checks = await ready(store_hub)
    assert status == 200 and checks["blobs"] == "ok"
    missing = build_hub(store_hub.settings.model_copy(update={"blob_url": s3_server.blob_url("not-created")}))
    try:
        status, checks = await ready(missing)
        assert status == 503 and checks["blobs"].startswith("unavailable")
    finally:
        await missing.close()


async def test_a_dry_run_counts_what_gc_would_delete_and_deletes_nothing(store_hub, hub_command) -> None:
    await store_hub.documents.put(io.BytesIO(b"%PDF-orphaned-write"), 19)
    await age_claims(store_hub, 2 * HOUR)

    async def state() -> tuple[list[tuple[str, str]], set[str]]:
        return [(b.name, b.state) for b in await blob_rows(store_hub)], set(objects(store_hub))

    before = await state()
    dry = await store_hub.documents.collect_garbage(dry_run=True)
    assert (dry.blobs_deleted, dry.dry_run) == (1, True)
    assert await state() == before
    said = await hub_command("blobs", "gc", "--dry-run")
    assert "would delete 1 unreferenced blobs" in said and "nothing was deleted" in said
    assert await state() == before
    assert (await store_hub.documents.collect_garbage()).blobs_deleted == 1


async def test_the_served_hub_collects_stale_blobs_by_itself(store_hub) -> None:
    from hub.documents.gc import collect_blobs_forever

    await store_hub.documents.put(io.BytesIO(b"%PDF-crashed-write"), 18)
    await age_claims(store_hub, 2 * HOUR)
    store_hub.settings = store_hub.settings.model_copy(update={"blob_gc_interval": 0.05})
    loop = asyncio.create_task(collect_blobs_forever(store_hub))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not await blob_rows(store_hub):
                break
    finally:
        loop.cancel()
    assert await blob_rows(store_hub) == [] and set(objects(store_hub)) == set()
