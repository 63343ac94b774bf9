"""What the material tests share: a catalogue of material types, sample files of each kind, and
uploads the way a browser or department system sends them (GraphQL multipart request spec)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from stdnum.cn import ric

from hub.access.auth import Role
from hub.access.context import Hub, RequestContext
from hub.access.principals import authenticate
from hub.catalog.catalogue import load_catalog
from storage.models import Blob, Material, MaterialVersion
from tests.support import Actor, open_visit

CATALOG = """
material_types:
  - {code: id_card, name: 居民身份证, valid_days: 3650}
  - {code: tax_certificate, name: 完税证明, issuing_department: sw, valid_days: 365}
  - {code: site_plan, name: 建设工程规划许可证附图, issuing_department: zrzy}
legal_bases:
  - code: tax-certificate-check
    department: sw
    description: 完税证明的开具与更正
    material_types: [tax_certificate]
  - code: identity-materials
    department: sw
    description: 纳税人身份证件核验
    profile_fields: [name]
    material_types: [id_card]
"""

UPLOAD = """
mutation Upload($input: UploadMaterialInput!) {
  uploadMaterial(input: $input) {
    id status title typeCode validUntil issuingDepartmentCode
    currentVersion { id versionNo fileName contentType size current downloadLink { url expiresAt } }
  }
}
"""

SUPERSEDE = """
mutation Supersede($input: SupersedeMaterialInput!) {
  supersedeMaterial(input: $input) {
    id status
    versions { id versionNo fileName current supersededAt downloadLink { url } }
  }
}
"""

PREFLIGHT = {"Apollo-Require-Preflight": "true"}


def resident_id(n: int) -> str:
    body = f"11010119900307{n:03d}"
    return body + ric.calc_check_digit(body + "0")


async def load_material_types(hub: Hub) -> None:
    async with hub.sessions() as session:
        await load_catalog(session, CATALOG, "materials.yaml")
        await session.commit()


async def register(client, actor: Actor, id_number: str, name: str) -> None:
    await client.execute(
        "mutation($i: RegisterApplicantInput!) { registerApplicant(input: $i) { idNumber } }",
        {"i": {"kind": "PERSON", "idNumber": id_number, "name": name}},
        token=actor.token,
    )


# Sample files: real headers of each format, padded with random bytes so each call differs.


def pdf(size: int = 50_000, seed: bytes | None = None) -> bytes:
    body = seed if seed is not None else os.urandom(size)
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


def png(size: int = 20_000) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size)


def jpeg(size: int = 20_000) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(size)


def tiff(size: int = 20_000) -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + os.urandom(size)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx() -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" + os.urandom(64)})


def ofd() -> bytes:
    return _zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": os.urandom(64)})


def plain_zip() -> bytes:
    return _zip({"notes.txt": b"not a document type the hub accepts"})


def multipart_body(
    query: str, variables: dict[str, Any], path: str, data: bytes, file_name: str, content_type: str
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """Form fields and files of one GraphQL multipart request carrying one file at `path`."""
    fields = {
        "operations": json.dumps({"query": query, "variables": variables}),
        "map": json.dumps({"0": [path]}),
    }
    return fields, {"0": (file_name, data, content_type)}


async def upload(
    client,
    actor: Actor,
    input: dict[str, Any],
    data: bytes,
    file_name: str = "材料.pdf",
    content_type: str = "application/pdf",
    *,
    purpose: str | None = None,
    headers: dict[str, str] | None = None,
    query: str = UPLOAD,
) -> httpx.Response:
    if purpose is None and actor.role is Role.CLERK and "idNumber" in input:
        # The applicant hands the file in at the window: the clerk sees what it became within a visit.
        purpose = await open_visit(client, actor, input["idNumber"])
    fields, files = multipart_body(
        query, {"input": {**input, "file": None}}, "variables.input.file", data, file_name, content_type
    )
    all_headers = {"Authorization": f"Bearer {actor.token}", **(PREFLIGHT if headers is None else headers)}
    if purpose is not None:
        all_headers["X-Hub-Purpose"] = purpose
    return await client.http.post("/graphql", data=fields, files=files, headers=all_headers)


def data_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def error_code_of(response: httpx.Response) -> str:
    body = response.json()
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


async def counts(hub: Hub) -> tuple[int, int, int]:
    """(materials, versions, blobs) rows in the database."""
    async with hub.sessions() as session:
        return tuple(
            [
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
                for model in (Material, MaterialVersion, Blob)
            ]
        )


def stored_objects(hub: Hub) -> list[str]:
    return [obj.name for obj in hub.documents.store.objects()]


@asynccontextmanager
async def acting(hub: Hub, actor: Actor) -> AsyncIterator[RequestContext]:
    """A request context for `actor` on `hub` (which may use another blob store than actor.hub)."""
    session = hub.sessions()
    try:
        yield RequestContext(hub, await authenticate(session, f"Bearer {actor.token}"), session=session)
    finally:
        await session.close()
