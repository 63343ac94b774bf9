"""Build the process-wide services (engine, sessions, stores) from settings."""

from __future__ import annotations

from hub.context import Hub
from hub.settings import Settings
from storage.db import create_engine, session_factory


def build_hub(settings: Settings) -> Hub:
    engine = create_engine(
        settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    return Hub(settings=settings, engine=engine, sessions=session_factory(engine))
