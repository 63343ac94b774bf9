"""Build the process-wide services (engine, sessions, stores) from settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# Imported for their side effect, registering purposes with the policy: "case:<receipt>",
# "inbox:<department>", "supervision:<ref>" and "visit:<id>".
import hub.cases.inbox
import hub.cases.purpose
import hub.halls.visits
import hub.supervision.purpose  # noqa: F401  (only imported for that registration)
from hub.access.context import Hub
from hub.documents.downloads import download_route
from hub.documents.store import DocumentStore
from hub.keys.keyring import Keyring
from hub.settings import Settings
from storage.blobs import BlobStore, open_blob_store
from storage.db import create_engine, session_factory


def build_hub(settings: Settings) -> Hub:
    engine = create_engine(
        settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    sessions = session_factory(engine)
    hub = Hub(settings=settings, engine=engine, sessions=sessions)
    if engine.dialect.name == "sqlite":
        hub.read_log_turns = asyncio.Lock()
    hub.documents = build_document_store(settings, sessions)
    hub.readiness_checks["blobs"] = hub.documents.check
    hub.extra_routes.append(download_route(hub))
    return hub


def build_document_store(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> DocumentStore:
    return DocumentStore(
        configured_blob_store(settings),
        Keyring(settings.secrets_dir),
        sessions,
        grace=timedelta(seconds=settings.blob_gc_grace_seconds),
    )


def configured_blob_store(settings: Settings) -> BlobStore:
    """The store HUB_BLOB_URL names; S3 credentials from the URL, else HUB_S3_ACCESS_KEY/SECRET_KEY."""
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
    return open_blob_store(settings.blob_url, access_key=settings.s3_access_key, secret_key=secret)


@asynccontextmanager
async def hub_for(settings: Settings) -> AsyncIterator[Hub]:
    """The process-wide services for one command, closed (engine disposed) when it ends."""
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
