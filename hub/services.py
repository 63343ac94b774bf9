"""Build the process-wide services (engine, sessions, stores) from settings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import hub.case_access  # noqa: F401  (registers the "case:<receipt>" purpose with the policy)
from hub.context import Hub
from hub.documents import DocumentStore
from hub.downloads import download_route
from hub.keyring import Keyring
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
