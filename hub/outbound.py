"""Outbound safety: where the hub may open an HTTP connection to, for every outbound request it
makes on someone else's say-so (a webhook endpoint a department registered, a document URL a
department's system answered with).

A URL's host must be on an operator's allowlist (exact host names, `*.suffix` patterns, or networks
in CIDR): `HUB_WEBHOOK_ALLOWED_HOSTS` for webhooks, `HUB_CONNECTOR_ALLOWED_HOSTS` for connectors.
At every connection the name is resolved again and each address checked where the socket is opened
(so a DNS answer changed after registration, or a rebinding trick, cannot reach inside): private,
loopback, link-local and other non-global addresses are refused unless an allowlisted network holds
them. The client follows no redirect, times out, and ignores proxies from the environment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from hub.errors import InvalidInput

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


def check_url(url: str, allowlist: Allowlist, refusal: type[InvalidInput], setting: str, field: str) -> str:
    """The URL, if the allowlist admits it; else `refusal` (an error with its own code) saying why."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise refusal(f"the URL is longer than {MAX_URL_LENGTH} characters", field=field)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise refusal("the URL is not http(s) with a host", field=field)
    if parts.username or parts.password:
        raise refusal("the URL carries credentials", field=field)
    if not allowlist.allows_host(parts.hostname):
        raise refusal(
            f"host {parts.hostname} is not on the operator's allowlist ({setting})", field=field, host=parts.hostname
        )
    return url


class RefusedAddress(httpcore.ConnectError):
    """The host is off the allowlist, or resolved to an address outbound requests may not reach."""


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
            raise RefusedAddress(f"{host} resolves to an address outbound requests may not reach: {refused[:1]}")
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


def client(
    allowlist: Allowlist, *, connect_timeout: float, read_timeout: float, max_connections: int = 100
) -> httpx.AsyncClient:
    """An HTTP client that connects only where `allowlist` admits, follows no redirect, ignores proxies."""
    timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
    return httpx.AsyncClient(
        transport=CheckedTransport(allowlist, max_connections), timeout=timeout, follow_redirects=False, trust_env=False
    )


def refused_address(error: BaseException) -> RefusedAddress | None:
    """The address check behind an httpx error, if that is why a connection was not made."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, RefusedAddress):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None
