"""Pull a department's records from its paged JSON API (docs/connectors.md).

`hub connector pull-rest URL` reads pages of `{"items": [...], "next": URL | null}`. Each item is a
record of the profile feed (`idNumber`, `name`, `fields`, `verified`), with a watermark field
(`updatedAt` by default) and optionally a `document`: an e-licence, by URL or inline base64
content, issued as a material of the configured type by the pulling department
(connectors/issued.py). Each record goes through `apply_feed_record`, then `issue_document`, as
the principal, under the declared purpose, in transactions of its own: checked and logged.

Incremental, two ways the source may offer: the highest watermark applied is sent back as
`?since=` (the source answers records at least that recent; applying one again changes nothing),
and the first page's `ETag` is sent back as `If-None-Match`, so an unchanged source answers 304
and the run reads nothing. Requests are spaced to a rate limit, and a 5xx answer, a timeout or a
broken connection is retried with exponential backoff before the run gives up. Every URL fetched
(the source, the `next` pages, the documents) passes the outbound checks of webhooks
(hub/outbound/) against `HUB_CONNECTOR_ALLOWED_HOSTS`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.issued import (
    MaterialResult,
    check_source_url,
    document_bytes,
    document_of,
    issue_document,
    refusal_of,
    source_client,
)
from connectors.profile_feed import FeedRecord, FeedSummary, _record, apply_record, refusal
from hub.access.context import Hub, RequestContext
from hub.access.principals import principal_context
from hub.errors import HubError, InvalidInput, SourceUnavailable
from storage.models.base import utcnow
from storage.repositories import connectors as repo

if TYPE_CHECKING:
    import httpx

SINCE_PARAMETER = "since"


@dataclass(frozen=True, slots=True)
class RestSource:
    """Where and how to read: the first page's URL and the pull's manners."""

    url: str
    watermark_field: str = "updatedAt"
    material_type: str | None = None  # the type of the documents records carry, if any
    rate: float = 5.0  # requests per second
    retries: int = 4  # tries after the first, on 5xx, timeouts and broken connections
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    timeout: float = 10.0


class Pacer:
    """Spaces requests at least 1/rate seconds apart."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate if rate > 0 else 0.0
        self.last = 0.0

    async def wait(self) -> None:
        delay = self.last + self.interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.last = time.monotonic()


def source_key(department_code: str, source: RestSource) -> str:
    digest = hashlib.sha256(f"rest\n{source.url}\n{source.watermark_field}".encode()).hexdigest()[:32]
    return f"{department_code}:{digest}"


async def fetch(
    http: httpx.AsyncClient, pacer: Pacer, source: RestSource, url: str, params: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    """One GET, retried with backoff on 5xx, timeouts and broken connections."""
    import httpx  # loaded with `http`, the client (hub.outbound.client)

    for attempt in range(source.retries + 1):
        await pacer.wait()
        try:
            # No params at all for a `next` URL: httpx would replace its query with an empty one.
            response = await http.get(url, params=params or None, headers=headers)
        except (httpx.TimeoutException, httpx.NetworkError) as error:
            refused = refusal_of(error, "url")
            if refused is not None:
                raise refused from None  # trying again would be refused again
            problem = type(error).__name__
        else:
            if response.status_code < 500:
                return response
            problem = f"HTTP {response.status_code}"
        if attempt < source.retries:
            await asyncio.sleep(source.backoff * 2**attempt)
    raise SourceUnavailable(f"the source did not answer after {source.retries + 1} tries (last: {problem})")


def _page(response: httpx.Response) -> tuple[list[Any], str | None]:
    if response.status_code != 200:
        raise InvalidInput(f"the source answered {response.status_code}", field="url")
    try:
        body = response.json()
    except ValueError:
        raise InvalidInput("the source's page is not JSON", field="url") from None
    items, following = (body.get("items"), body.get("next")) if isinstance(body, dict) else (None, None)
    if not isinstance(items, list) or not (following is None or isinstance(following, str)):
        raise InvalidInput('a page is {"items": [...], "next": URL or null}', field="url")
    return items, following


async def _apply_item(
    ctx: RequestContext,
    http: httpx.AsyncClient,
    source: RestSource,
    key: str,
    line: int,
    raw: Any,
    summary: FeedSummary,
) -> HubError | None:
    fields = raw if isinstance(raw, dict) else None
    document = fields.pop("document", None) if fields is not None else None
    if fields is not None:
        fields.pop(source.watermark_field, None)
    record = _record(line, fields if fields is not None else raw)
    error = await apply_record(ctx, record, summary)
    if error is not None or document is None:
        return error
    assert isinstance(record, FeedRecord)
    try:
        if source.material_type is None:
            raise InvalidInput("the record has a document, but the pull names no --material-type", field="document")
        if not isinstance(document, dict):
            raise InvalidInput("a document is a JSON object", field="document")
        parsed = document_of(document)
        data = await document_bytes(parsed, http)
        result: MaterialResult = await issue_document(ctx, key, record.id_number, source.material_type, parsed, data)
    except HubError as failure:
        return failure
    summary.materials[result.value] += 1
    return None


async def pull_rest(
    hub: Hub, source: RestSource, token: str, purpose: str | None, *, report: Callable[[str], None]
) -> FeedSummary:
    """Apply every record the source has changed since the last run, then keep its watermark and ETag."""
    check_source_url(source.url, hub.settings, "url")
    async with principal_context(hub, token, purpose) as ctx:
        key = source_key(ctx.caller.department_code, source)
        async with hub.sessions() as session:
            stored = await repo.watermark(session, key)
        state: dict[str, Any] = json.loads(stored) if stored else {}
        summary, highest = FeedSummary(), state.get("since")
        pacer = Pacer(source.rate)
        async with source_client(hub.settings, source.timeout) as http:
            params = {SINCE_PARAMETER: str(highest)} if highest is not None else {}
            headers = {"If-None-Match": state["etag"]} if state.get("etag") else {}
            response = await fetch(http, pacer, source, source.url, params, headers)
            if response.status_code == 304:
                return summary
            etag = response.headers.get("ETag")
            while True:
                items, following = _page(response)
                for raw in items:
                    summary.records += 1
                    mark = raw.get(source.watermark_field) if isinstance(raw, dict) else None
                    error = await _apply_item(ctx, http, source, key, summary.records, raw, summary)
                    if error is not None:
                        summary.refused[error.code] += 1
                        report(refusal(_named(summary.records, raw), error).replace("line", "record", 1))
                    if mark is not None and (highest is None or str(mark) > str(highest)):
                        highest = str(mark)
                if following is None:
                    break
                response = await fetch(http, pacer, source, following, {}, {})
        async with hub.sessions() as session:
            await repo.save_watermark(session, key, json.dumps({"since": highest, "etag": etag}), utcnow())
            await session.commit()
        return summary


def _named(line: int, raw: Any) -> FeedRecord:
    """Enough of a record to name it in a report (its masked number)."""
    id_number = raw.get("idNumber") if isinstance(raw, dict) else None
    return FeedRecord(line, id_number if isinstance(id_number, str) else "", "", {}, False)
