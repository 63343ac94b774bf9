"""Settings from `HUB_*` environment variables; the defaults serve one machine (SQLite + a folder)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every tunable of the hub. See docs/configuration.md for what each one means."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=None, extra="ignore")

    environment: Environment = Environment.DEMO
    database_url: str = "sqlite+aiosqlite:///./var/hub.db"
    blob_url: str = "file://./var/blobs"
    secrets_dir: Path = Path("./var/secrets")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    # GraphQL limits: enforced on every request before execution.
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_query_aliases: int = 30
    max_page_size: int = 100
    graphiql: bool | None = Field(default=None, description="defaults to on in demo, off in production")
    introspection: bool | None = Field(default=None, description="defaults to on in demo, off in production")

    # Document store (docs/documents.md). S3 credentials may also sit in HUB_BLOB_URL.
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0, description="largest file accepted, in bytes")
    blob_gc_grace_seconds: int = Field(default=3600, gt=0, description="gc spares blobs touched this recently")
    download_link_seconds: int = Field(default=300, gt=0, description="lifetime of a signed download link")

    # The console (docs/console.md): people's sessions and failed logins.
    console_idle_minutes: int = Field(default=30, gt=0, description="a console session ends after this long unused")
    console_session_hours: int = Field(default=10, gt=0, description="and after this long in any case")
    console_free_login_failures: int = Field(default=2, ge=0, description="failures before logins are slowed")
    console_lockout_failures: int = Field(default=10, gt=0, description="failures that lock an account")

    # Database pool.
    db_pool_size: int = 10
    db_max_overflow: int = 10

    # Access log (docs/audit-log.md): sequencing and checkpoint cadence.
    audit_origin: str = "hub.local/access-log"
    audit_checkpoint_entries: int = Field(default=1000, ge=1, description="sign after this many new entries")
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0, description="or after this long with new entries")
    audit_sequencer_interval: float = Field(default=1.0, gt=0, description="seconds between sequencer runs")
    audit_sequencer_batch: int = Field(default=5000, ge=1, description="entries sequenced per transaction")
    # Benchmarks only: guard still decides, but no entry is written. Refused in production.
    audit_recording_disabled_for_benchmark: bool = False

    @model_validator(mode="after")
    def _recording_is_mandatory_in_production(self) -> Settings:
        if self.audit_recording_disabled_for_benchmark and self.environment is Environment.PRODUCTION:
            raise ValueError("the access log cannot be switched off in production")
        return self

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.environment is Environment.DEMO

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment is Environment.DEMO

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
