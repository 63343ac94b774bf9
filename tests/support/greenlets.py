"""Counting the greenlets SQLAlchemy's asyncio layer starts: each costs CPython a 16 KiB stack
chunk mapped and unmapped (docs/performance.md, session 14)."""

from __future__ import annotations


def greenlets_spawned(monkeypatch) -> list[str]:
    """The names of the functions SQLAlchemy's asyncio layer runs in a greenlet from now on."""
    from sqlalchemy.ext.asyncio import engine as async_engine
    from sqlalchemy.ext.asyncio import session as async_session

    spawned: list[str] = []
    for module in (async_engine, async_session):
        original = module.greenlet_spawn

        async def counting(fn, *args, _original=original, **kwargs):
            spawned.append(getattr(fn, "__name__", repr(fn)))
            return await _original(fn, *args, **kwargs)

        monkeypatch.setattr(module, "greenlet_spawn", counting)
    return spawned
