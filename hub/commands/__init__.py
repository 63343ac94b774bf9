"""CLI commands by area. Each module has `register(commands)` adding its subcommands to `hub`.

hub/cli.py lists the modules in AREA_COMMANDS; a new area of hub adds its module there. Packages
that hub must not import (connectors/) declare theirs in the `hub.commands` entry-point group of
pyproject.toml instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hub.settings import Settings


async def in_session(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(session)` in one transaction, commit it, and dispose of the engine."""
    from hub.services import build_hub

    hub = build_hub(settings)
    try:
        async with hub.sessions() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await hub.close()
