"""How a delivery is sent: one POST over the shared outbound client (hub/outbound/: the
allowlist, address checks at connect time, no redirects, timeouts), reading at most a capped
number of response bytes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub import outbound
from hub.errors import WebhookUrlNotAllowed
from hub.settings import Settings

if TYPE_CHECKING:
    import httpx

ALLOWLIST_SETTING = "HUB_WEBHOOK_ALLOWED_HOSTS"


def check_endpoint_url(url: str, settings: Settings) -> str:
    """The URL, if an endpoint may have it; else `WebhookUrlNotAllowed` saying why."""
    return outbound.check_url(
        url, outbound.Allowlist.of(settings.webhook_allowed_hosts), WebhookUrlNotAllowed, ALLOWLIST_SETTING, "url"
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back from one send: a status, or why there was none."""

    status_code: int | None
    error: str | None
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def client(settings: Settings, max_connections: int = 100) -> httpx.AsyncClient:
    return outbound.client(
        outbound.Allowlist.of(settings.webhook_allowed_hosts),
        connect_timeout=settings.webhook_connect_timeout,
        read_timeout=settings.webhook_read_timeout,
        max_connections=max_connections,
    )


async def send(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], max_response_bytes: int
) -> Answer:
    """POST once. A 3xx is a failure (not followed); the response is read up to the cap, then dropped."""
    import httpx  # loaded with `http`, the client (hub.outbound.client)

    started = time.perf_counter()
    try:
        async with http.stream("POST", url, content=body, headers=headers) as response:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= max_response_bytes:
                    break
            status = response.status_code
    except httpx.TimeoutException as error:
        return Answer(None, f"timeout: {type(error).__name__}", time.perf_counter() - started)
    except (httpx.HTTPError, OSError) as error:
        return Answer(None, f"{type(error).__name__}: {str(error)[:300]}", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if 300 <= status < 400:
        return Answer(status, "redirect not followed", seconds)
    return Answer(status, None if 200 <= status < 300 else f"HTTP {status}", seconds)
