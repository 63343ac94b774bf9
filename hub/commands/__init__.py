"""CLI commands by area. Each module has `register(commands)` adding its subcommands to `hub`.

hub/cli.py lists the modules in AREA_COMMANDS; a new area of hub adds its module there. Packages
that hub must not import (connectors/) declare theirs in the `hub.commands` entry-point group of
pyproject.toml instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.errors import InvalidInput
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.context import Hub, RequestContext


@asynccontextmanager
async def hub_for(settings: Settings) -> AsyncIterator[Hub]:
    """The process-wide services for one command, closed (engine disposed) when it ends."""
    from hub.services import build_hub

    hub = build_hub(settings)
    try:
        yield hub
    finally:
        await hub.close()


async def in_session(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(session)` in one transaction, commit it, and dispose of the engine."""
    async with hub_for(settings) as hub, hub.sessions() as session:
        result = await work(session)
        await session.commit()
        return result


def principal_token(token_file: str | None, variable: str) -> str:
    """A principal's token for a command, from a file or the environment variable `variable`: never
    from the command line, where other users of the machine and the shell history would see it."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InvalidInput(f"cannot read the token file {token_file}: {error.strerror}", field="token") from None
    else:
        token = os.environ.get(variable, "").strip()
    if not token:
        raise InvalidInput(f"no token: give --token-file PATH or set {variable}", field="token")
    return token


@asynccontextmanager
async def principal_context(hub: Hub, token: str, purpose: str | None = None) -> AsyncIterator[RequestContext]:
    """A request context for a command acting as the principal holding `token`, as a request over
    HTTP would have: a revoked token is refused and logged, the policy and the log apply."""
    from hub.access import record_refused_token
    from hub.context import RequestContext
    from hub.errors import Unauthenticated
    from hub.principals import authenticate

    authorization = f"Bearer {token}"
    async with hub.sessions() as session:
        try:
            caller = await authenticate(session, authorization)
        except Unauthenticated:
            await record_refused_token(hub, authorization)
            raise
        yield RequestContext(hub, caller, session=session, purpose=purpose)
