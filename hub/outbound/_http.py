"""The checked HTTP client of hub/outbound: httpx over a connection pool whose every connection goes
only to an address the allowlist admits. Imported with the first client (hub.outbound.client)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    from hub.outbound import Allowlist


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
        # One TLS context (the CA bundle parsed: 2 MiB) for both pools: httpx's own, replaced below,
        # would otherwise load one of its own.
        ssl_context = httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            network_backend=CheckedBackend(allowlist),
        )


def checked_client(
    allowlist: Allowlist, connect_timeout: float, read_timeout: float, max_connections: int
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
    return httpx.AsyncClient(
        transport=CheckedTransport(allowlist, max_connections), timeout=timeout, follow_redirects=False, trust_env=False
    )
