"""Materials issued elsewhere: a department's e-licences (电子证照), brought in by a pull.

A record may carry a document: inline base64 content, or a URL the connector fetches. It becomes a
material of the type the pull is configured with, issued by the pulling department, through the
same use case (`add_material`, or `supersede_material` when the content changed) and so through
the access guard and the log. The hub remembers, per source and record key, the SHA-256 of the
content it stored (`connector_materials`): a rerun with the same content issues nothing, and
changed content becomes a new version of the same material, never a second material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from hub import outbound
from hub.access.context import RequestContext, all_or_nothing
from hub.documents.materials import FileUpload, NewMaterial, add_material, supersede_material
from hub.errors import InvalidInput, SourceUrlNotAllowed
from hub.settings import Settings
from storage.repositories import connectors as repo

if TYPE_CHECKING:
    import httpx

DOCUMENT_LIMIT = 20 * 1024 * 1024  # an e-licence is a PDF or an image, never this large
ALLOWLIST_SETTING = "HUB_CONNECTOR_ALLOWED_HOSTS"


def source_client(settings: Settings, timeout: float) -> httpx.AsyncClient:
    """The client every pull fetches with: only hosts and addresses `HUB_CONNECTOR_ALLOWED_HOSTS`
    admits, as webhooks are sent (hub/outbound/). A document URL comes from the source's data, not
    from the operator: without the checks a source could point the hub at its own network."""
    return outbound.client(
        outbound.Allowlist.of(settings.connector_allowed_hosts), connect_timeout=timeout, read_timeout=timeout
    )


def check_source_url(url: str, settings: Settings, field: str) -> str:
    return outbound.check_url(
        url, outbound.Allowlist.of(settings.connector_allowed_hosts), SourceUrlNotAllowed, ALLOWLIST_SETTING, field
    )


def refusal_of(error: httpx.HTTPError, field: str) -> SourceUrlNotAllowed | None:
    """`SOURCE_URL_NOT_ALLOWED` if the outbound checks refused the connection, else None."""
    refused = outbound.refused_address(error)
    if refused is None:
        return None
    return SourceUrlNotAllowed(f"{refused} ({ALLOWLIST_SETTING})", field=field)


class MaterialResult(StrEnum):
    ISSUED = "issued"  # a new material
    REISSUED = "reissued"  # a new version of the material this record issued before
    SAME = "same"  # the content the hub already holds: nothing written


@dataclass(frozen=True, slots=True)
class Document:
    """A record's document, as the source describes it; `content` or `url` says where its bytes are."""

    key: str
    file_name: str
    content_type: str
    title: str = ""
    content: str | None = None  # base64
    url: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name} is not a date (YYYY-MM-DD)", field=name) from None


def document_of(raw: dict[str, Any]) -> Document:
    """A document from its JSON (`id`, `url` or `content`, `fileName`, `contentType`, `title`, dates)."""
    key, file_name = raw.get("id"), raw.get("fileName")
    content, url = raw.get("content"), raw.get("url")
    if not isinstance(key, str | int) or not str(key).strip():
        raise InvalidInput("a document needs its id at the source", field="document.id")
    if not isinstance(file_name, str) or not file_name.strip():
        raise InvalidInput("a document needs a fileName", field="document.fileName")
    if (content is None) == (url is None) or not isinstance(content or url, str):
        raise InvalidInput("a document has either a url or base64 content", field="document")
    return Document(
        key=str(key)[:128],
        file_name=file_name,
        content_type=str(raw.get("contentType") or "application/octet-stream"),
        title=str(raw.get("title") or ""),
        content=content,
        url=url,
        issued_on=_date(raw.get("issuedOn"), "document.issuedOn"),
        valid_until=_date(raw.get("validUntil"), "document.validUntil"),
    )


async def document_bytes(document: Document, http: httpx.AsyncClient) -> bytes:
    """The document's bytes; a URL is fetched with `http`, a `source_client`."""
    if document.content is not None:
        try:
            data = base64.b64decode(document.content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the document's content is not base64", field="document.content") from None
    else:
        import httpx  # loaded with `http`, the client (hub.outbound.client)

        assert document.url is not None
        try:
            response = await http.get(document.url)
        except httpx.HTTPError as error:
            refused = refusal_of(error, "document.url")
            if refused is not None:
                raise refused from None
            raise InvalidInput(
                f"the document could not be fetched: {type(error).__name__}", field="document.url"
            ) from None
        if response.status_code != 200:
            raise InvalidInput(f"the document URL answered {response.status_code}", field="document.url")
        data = response.content
    if len(data) > DOCUMENT_LIMIT:
        raise InvalidInput("the document is larger than 20 MiB", field="document")
    return data


@all_or_nothing
async def issue_document(
    ctx: RequestContext, source_key: str, id_number: str, type_code: str, document: Document, data: bytes
) -> MaterialResult:
    """Issue (or reissue) the record's document as a material of `type_code`, and commit."""
    digest = hashlib.sha256(data).hexdigest()
    known = await repo.issued_material(ctx.session, source_key, document.key)
    upload = FileUpload.of_bytes(data, document.file_name, document.content_type)
    now = ctx.hub.clock()
    if known is not None and known.sha256 == digest:
        return MaterialResult.SAME
    if known is not None:
        await supersede_material(
            ctx,
            known.material_id,
            upload,
            title=document.title or None,
            issued_on=document.issued_on,
            valid_until=document.valid_until,
        )
        await repo.save_issued_material(ctx.session, source_key, document.key, digest, known.material_id, now)
        await ctx.commit()
        return MaterialResult.REISSUED
    new = NewMaterial(
        applicant_id_number=id_number,
        type_code=type_code,
        title=document.title,
        issuing_department_code=ctx.caller.department_code,
        issued_on=document.issued_on,
        valid_until=document.valid_until,
    )
    detail = await add_material(ctx, new, upload)
    await repo.save_issued_material(ctx.session, source_key, document.key, digest, detail.material.id, now)
    await ctx.commit()
    return MaterialResult.ISSUED
