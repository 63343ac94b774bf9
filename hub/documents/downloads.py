"""`GET /files/<token>`: serve a material version through a signed link, decrypted as it streams.

HTTP semantics follow RFC 9110: a single byte range (`Range: bytes=a-b`, `a-`, `-n`) is answered
206 with Content-Range; several ranges are answered with the whole file (a server may ignore
Range); an unsatisfiable one gets 416. `If-None-Match` gives 304, `If-Range` with another ETag gives
the whole file. Content-Disposition carries the original name per RFC 6266, with an ASCII fallback
and `filename*=UTF-8''...` (RFC 8187, formerly RFC 5987) for Chinese names.

The download passes `guard` and its entry is committed before the first byte is sent; a request
refused for its own form (an unsatisfiable range) is answered before `guard`, so the log never
shows a download that was not served. Positions longer than 18 digits are read as "beyond any
file" rather than converted (Python refuses to convert over 4300 digits). The first
plaintext batch is decrypted before the response starts, so a blob damaged at its start gives a
clean error; damage found later aborts the connection, so altered bytes are never delivered.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.access.auth import Caller, Role
from hub.access.context import Hub, RequestContext
from hub.documents import _download_links as download_links
from hub.documents import materials
from hub.documents.materials import VersionRecord
from hub.documents.store import BlobRef
from hub.errors import (
    BlobCorrupted,
    BlobStoreUnavailable,
    DownloadLinkExpired,
    Forbidden,
    HubError,
    InvalidDownloadLink,
    NotFound,
    Unauthenticated,
)
from hub.keys.keyring import Keyring
from storage.repositories import principals as principals_repo

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Larger than any file the hub stores; a position with more digits is beyond every file.
BEYOND_ANY_FILE = 10**18
RFC_8187_SAFE = "!#$&+-.^_`|~"
STATUS_OF = {
    InvalidDownloadLink: 403,
    DownloadLinkExpired: 410,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    BlobCorrupted: 500,
    BlobStoreUnavailable: 503,
}


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int = 0) -> None:
        super().__init__(size)
        self.size = size


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else BEYOND_ANY_FILE


def error_response(error: HubError) -> JSONResponse:
    status = next((code for kind, code in STATUS_OF.items() if type(error) is kind), 400)
    return JSONResponse({"errors": [{"message": error.message, "extensions": error.extensions()}]}, status)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range one `Range` header asks for; None means the whole file."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: RFC 9110 lets a server send it all
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = _position(last)
        if suffix == 0:
            raise RangeNotSatisfiable(size)
        return max(size - suffix, 0), size - 1
    start = _position(first)
    end = min(_position(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(size)
    return start, end


def content_disposition(file_name: str) -> str:
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe=RFC_8187_SAFE)}"


def download_route(hub: Hub) -> Route:
    async def serve(request: Request) -> Response:
        session = await hub.request_session()  # reads outside a transaction: a download writes only its entry
        ctx: RequestContext | None = None
        try:
            grant = download_links.verify(Keyring(hub.settings.secrets_dir), request.path_params["token"], hub.clock())
            caller = await _caller(session, grant.principal_id)
            client = request.client
            ctx = RequestContext(
                hub,
                caller,
                session=session,
                purpose=grant.purpose,
                client_address=client.host if client else "",
            )
            # A download writes nothing but its entry: it joins the reads' group commit, which
            # returns once the entry is committed, so still before the first byte is sent.
            ctx.read_only = True
            version, blob = await materials.version_for_download(
                ctx, grant.version_id, servable=lambda version, blob: _wanted_range(request, version, blob)
            )
        except RangeNotSatisfiable as unsatisfiable:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{unsatisfiable.size}"})
        except HubError as error:
            if ctx is not None:
                await ctx.rollback_keeping_log()
            return error_response(error)
        finally:
            await hub.end_request_session(session)
        return await _respond(request, ctx, version, blob)

    return Route("/files/{token}", serve, methods=["GET"])


def _wanted_range(request: Request, version: VersionRecord, blob: BlobRef) -> tuple[int, int] | None:
    """The range to serve, None for the whole file (also when If-Range names another ETag)."""
    if request.headers.get("if-range") not in (None, materials.etag_of(blob)):
        return None
    return parse_range(request.headers.get("range"), version.size)


async def _caller(session: AsyncSession, principal_id: int) -> Caller:
    row = await principals_repo.active_principal(session, principal_id)
    if row is None:
        raise Unauthenticated("the principal this link was issued to is no longer active")
    return Caller(row.id, row.name, Role(row.role), row.department_id, row.department_code)


async def _respond(request: Request, ctx: RequestContext, version: VersionRecord, blob: BlobRef) -> Response:
    etag = materials.etag_of(blob)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(version.file_name),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    wanted = _wanted_range(request, version, blob)  # satisfiable: checked before the access was logged
    start, end = wanted if wanted is not None else (0, version.size - 1)
    try:
        download = await materials.open_version(ctx, version, blob, start, end)
        first = await anext(download.chunks, b"")
    except HubError as error:
        return error_response(error)
    headers["Content-Length"] = str(end - start + 1)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{version.size}"
    return StreamingResponse(_chained(first, download.chunks), status, headers, media_type=version.content_type)


async def _chained(first: bytes | memoryview, rest: AsyncIterator[memoryview]) -> AsyncIterator[bytes | memoryview]:
    yield first
    async for chunk in rest:
        yield chunk


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
