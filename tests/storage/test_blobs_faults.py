"""Faults mid-upload: the S3 server dies, or the hub process is killed with SIGKILL.

Either way no material record may point at a missing or partial blob, and whatever the write left
(an unreferenced pending row, an incomplete multipart upload) is removed by gc.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hub.documents.materials import FileUpload, NewMaterial, upload_material
from hub.errors import BlobStoreUnavailable
from hub.identifiers import ApplicantKind
from hub.profiles.applicants import register_applicant
from hub.services import build_document_store, build_hub
from storage.models import Blob, BlobState
from storage.models.base import utcnow
from tests.support.materials import PREFLIGHT, acting, counts, load_material_types, multipart_body, resident_id
from tests.support.s3_server import S3Server, free_port

PERSON = resident_id(31)
MiB = 1024 * 1024


async def _blobs(hub) -> list[Blob]:
    async with hub.sessions() as session:
        return list((await session.execute(select(Blob))).scalars())


def _large_pdf(path: Path, size: int) -> bytes:
    data = b"%PDF-1.7\n" + os.urandom(size)
    path.write_bytes(data)
    return data


class StopsServerMidway(io.BytesIO):
    """A source that stops the S3 server once half the ciphertext has been streamed out."""

    def __init__(self, data: bytes, server: S3Server) -> None:
        super().__init__(data)
        self.server = server
        self.passes = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self.passes += 1  # sniffing, hashing, then encrypting (the third pass): each starts at 0
        return super().seek(offset, whence)

    def read(self, n: int = -1) -> bytes:
        if self.passes >= 3 and self.tell() > len(self.getbuffer()) // 2 and self.server.process.poll() is None:
            self.server.stop()
        return super().read(n)


@pytest.mark.slow
async def test_the_s3_server_dying_mid_upload_leaves_no_material_and_no_blob(hub, clerk, tmp_path) -> None:
    server = S3Server.start()
    doomed = build_hub(hub.settings.model_copy(update={"blob_url": server.blob_url(server.new_bucket())}))
    try:
        await load_material_types(doomed)
        async with acting(doomed, clerk) as ctx:
            await register_applicant(ctx, ApplicantKind.PERSON, PERSON, "张三")
        data = b"%PDF-1.7\n" + os.urandom(40 * MiB)
        with pytest.raises(BlobStoreUnavailable):
            async with acting(doomed, clerk) as ctx:
                source = StopsServerMidway(data, server)
                await upload_material(
                    ctx, NewMaterial(PERSON, "id_card"), FileUpload(source, "大文件.pdf", "application/pdf")
                )
        assert server.process.poll() is not None  # it really died mid-upload
        assert await counts(doomed) == (0, 0, 0)
    finally:
        server.stop()
        await doomed.close()


@pytest.mark.slow
async def test_an_unreachable_store_refuses_the_upload_with_its_code(hub, client, clerk) -> None:
    server = S3Server.start()
    settings = hub.settings.model_copy(update={"blob_url": server.blob_url(server.new_bucket())})
    hub.documents = build_document_store(settings, hub.sessions)
    server.stop()
    await load_material_types(hub)
    async with acting(hub, clerk) as ctx:
        await register_applicant(ctx, ApplicantKind.PERSON, PERSON, "张三")
    fields, files = multipart_body(
        "mutation($input: UploadMaterialInput!) { uploadMaterial(input: $input) { id } }",
        {"input": {"idNumber": PERSON, "typeCode": "id_card", "file": None}},
        "variables.input.file",
        b"%PDF-1.7\n" + os.urandom(1000),
        "a.pdf",
        "application/pdf",
    )
    response = await client.http.post(
        "/graphql", data=fields, files=files, headers={"Authorization": f"Bearer {clerk.token}", **PREFLIGHT}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BLOB_STORE_UNAVAILABLE"
    assert await counts(hub) == (0, 0, 0)


class HubProcess:
    """A real hub: uvicorn serving app.asgi in a child process, on the test database and store."""

    def __init__(self, settings) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "HUB_DATABASE_URL": settings.database_url,
            "HUB_BLOB_URL": settings.blob_url,
            "HUB_SECRETS_DIR": str(settings.secrets_dir),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("the hub process did not come up")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.mark.slow
async def test_killing_the_hub_mid_upload_leaves_nothing_referenced_and_gc_cleans_up(
    hub,
    clerk,
    s3_server: S3Server,
    tmp_path,
) -> None:
    bucket = s3_server.new_bucket()
    settings = hub.settings.model_copy(update={"blob_url": s3_server.blob_url(bucket)})
    s3_hub = build_hub(settings)
    await load_material_types(s3_hub)
    async with acting(s3_hub, clerk) as ctx:
        await register_applicant(ctx, ApplicantKind.PERSON, PERSON, "张三")
    big = tmp_path / "竣工图.pdf"
    data = _large_pdf(big, 160 * MiB)
    server = await asyncio.to_thread(HubProcess, settings)
    try:
        upload = asyncio.create_task(asyncio.to_thread(_post_upload, server.url, clerk.token, big))
        # Kill the moment the hub starts writing the blob: its pending row is committed first.
        deadline = time.monotonic() + 120
        while not any(b.state == BlobState.PENDING.value for b in await _blobs(s3_hub)):
            assert time.monotonic() < deadline and not upload.done(), "the upload never reached the blob store"
            await asyncio.sleep(0.01)
        server.kill()
        with pytest.raises(httpx.HTTPError):
            await upload

        assert await counts(s3_hub) == (0, 0, 1)  # no material; one unreferenced pending row
        assert list(s3_hub.documents.store.objects()) == []  # the object never became visible

        report = await s3_hub.documents.collect_garbage(now=utcnow() + s3_hub.documents.grace * 2)
        assert report.blobs_deleted == 1
        assert await counts(s3_hub) == (0, 0, 0)
        assert s3_server.client()._list_multipart_uploads(bucket).uploads == []

        # The same file uploads cleanly afterwards and reads back whole.
        async with acting(s3_hub, clerk) as ctx:
            with open(big, "rb") as handle:
                detail = await upload_material(
                    ctx, NewMaterial(PERSON, "id_card"), FileUpload(handle, big.name, "application/pdf")
                )
        blob = (await s3_hub.documents.blobs([detail.current_version.blob_id]))[detail.current_version.blob_id]
        tail = b"".join([p async for p in await s3_hub.documents.open(blob, len(data) - 1000)])
        assert tail == data[-1000:]
    finally:
        server.kill()
        await s3_hub.close()


def _post_upload(url: str, token: str, path: Path) -> httpx.Response:
    with open(path, "rb") as handle:
        fields, _ = multipart_body(
            "mutation($input: UploadMaterialInput!) { uploadMaterial(input: $input) { id } }",
            {"input": {"idNumber": PERSON, "typeCode": "id_card", "file": None}},
            "variables.input.file",
            b"",
            path.name,
            "application/pdf",
        )
        return httpx.post(
            f"{url}/graphql",
            data=fields,
            files={"0": (path.name, handle, "application/pdf")},
            headers={"Authorization": f"Bearer {token}", **PREFLIGHT},
            timeout=300,
        )
