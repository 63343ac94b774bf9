"""Outbound safety: where the hub may send a delivery, and how it sends it.

An endpoint's host must be on the operator's allowlist (`HUB_WEBHOOK_ALLOWED_HOSTS`: exact host
names, `*.suffix` patterns, or networks in CIDR). At every connection the name is resolved again and
each address checked where the socket is opened (so a DNS answer changed after registration, or a
rebinding trick, cannot reach inside): private, loopback, link-local and other non-global addresses
are refused unless an allowlisted network holds them. Redirects are not followed, connect and read
time out, proxies from the environment are ignored, and at most a capped number of response bytes
are read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from hub.errors import WebhookUrlNotAllowed
from hub.settings import Settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class Allowlist:
    hosts: frozenset[str]
    suffixes: tuple[str, ...]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> Allowlist:
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if entry.startswith("*."):
                    suffixes.append(entry[1:])
                else:
                    hosts.add(entry)
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        address = _address(host)
        if address is not None:
            return self.holds(address)
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def holds(self, address: IPAddress) -> bool:
        return any(address.version == network.version and address in network for network in self.networks)

    def allows_address(self, address: IPAddress) -> bool:
        """A global address of an allowed host, or any address inside an allowlisted network."""
        return address.is_global or self.holds(address)


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, allowlist: Allowlist) -> str:
    """The URL, if an endpoint may have it; else `WebhookUrlNotAllowed` saying why."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlNotAllowed(f"the URL is longer than {MAX_URL_LENGTH} characters", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlNotAllowed("an endpoint is an http(s) URL with a host", field="url")
    if parts.username or parts.password:
        raise WebhookUrlNotAllowed("an endpoint URL carries no credentials", field="url")
    if not allowlist.allows_host(parts.hostname):
        raise WebhookUrlNotAllowed(
            f"host {parts.hostname} is not on the operator's allowlist (HUB_WEBHOOK_ALLOWED_HOSTS)",
            field="url",
            host=parts.hostname,
        )
    return url


class RefusedAddress(httpcore.ConnectError):
    """The host resolved to an address outbound deliveries may not reach."""


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, checks every address, and connects only to a checked one."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not self.allowlist.allows_host(host):
            raise RefusedAddress(f"host {host} is not on the allowlist")
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        refused = [a for a in addresses if not self.allowlist.allows_address(a)]
        if not addresses or refused:
            raise RefusedAddress(f"{host} resolves to an address deliveries may not reach: {refused[:1]}")
        return await self.inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses `CheckedBackend` for every connection."""

    def __init__(self, allowlist: Allowlist, max_connections: int) -> None:
        super().__init__(trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            network_backend=CheckedBackend(allowlist),
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
    timeout = httpx.Timeout(
        connect=settings.webhook_connect_timeout,
        read=settings.webhook_read_timeout,
        write=settings.webhook_read_timeout,
        pool=settings.webhook_connect_timeout,
    )
    return httpx.AsyncClient(
        transport=CheckedTransport(Allowlist.of(settings.webhook_allowed_hosts), max_connections),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


async def send(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], max_response_bytes: int
) -> Answer:
    """POST once. A 3xx is a failure (not followed); the response is read up to the cap, then dropped."""
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
