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

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hub.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

    from hub.outbound._http import RefusedAddress

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


def client(
    allowlist: Allowlist, *, connect_timeout: float, read_timeout: float, max_connections: int = 100
) -> httpx.AsyncClient:
    """An HTTP client that connects only where `allowlist` admits, follows no redirect, ignores proxies.

    httpx is imported here, with the first client: a serving process that sends nothing (a webhook
    worker with no delivery due, no connector pull) never loads it (3 MiB, and 3 more where rich
    and pygments, which its command-line client imports, are installed).
    """
    from hub.outbound._http import checked_client

    return checked_client(allowlist, connect_timeout, read_timeout, max_connections)


def refused_address(error: BaseException) -> RefusedAddress | None:
    """The address check behind an httpx error, if that is why a connection was not made."""
    from hub.outbound._http import RefusedAddress  # an httpx error means httpx is already loaded

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, RefusedAddress):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None
