"""Settings from `HUB_*` environment variables; the defaults serve one machine (SQLite + a folder)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where the hub runs. Unset means production: a forgotten variable must not open the hub up."""

    DEMO = "demo"
    PRODUCTION = "production"
    BENCHMARK = "benchmark"


class Settings(BaseSettings):
    """Every tunable of the hub. See docs/configuration.md for what each one means."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=None, extra="ignore")

    environment: Environment = Environment.PRODUCTION
    database_url: str = "sqlite+aiosqlite:///./var/hub.db"
    blob_url: str = "file://./var/blobs"
    secrets_dir: Path = Path("./var/secrets")
    # Demo only: the demo principals' tokens, kept across restarts (mode 600; hub/demo/tokens.py).
    demo_tokens_file: Path = Path("./var/demo-tokens.json")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Whether a serving process also runs the background jobs (the log's sequencer, supervision,
    # abandoned cases, blob collection; app/background.py). `hub serve --workers N` sets it false
    # for its workers and runs the jobs in a process of their own.
    serve_background_jobs: bool = True
    # Where the process running the background jobs serves its own /metrics (`hub background`, and
    # the background process of `hub serve --workers N`): its counters (the sequencer's alarms,
    # supervision's) are raised there. None: not served.
    background_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    background_metrics_host: str = "127.0.0.1"

    # GraphQL limits: enforced on every request before execution.
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_query_aliases: int = 30
    max_query_fields: int = Field(
        default=10_000, gt=0, description="fields a query may ask for, lists counted `first` times (schema/limits.py)"
    )
    max_query_field_repeats: int = Field(
        default=10, gt=0, description="times one response name may appear in one selection (validation is quadratic)"
    )
    max_query_bytes: int = Field(default=32 * 1024, gt=0, description="largest document, comments and blanks included")
    max_page_size: int = 100
    max_json_body_bytes: int = Field(default=1024**2, gt=0, description="largest JSON (or GET) request to /graphql")
    max_multipart_body_bytes: int | None = Field(
        default=None, gt=0, description="largest multipart upload request; defaults to max_upload_bytes + 1 MiB"
    )
    query_cache_bytes: int = Field(
        default=32 * 1024**2, ge=0, description="memory the parsed and validated documents may keep, in bytes"
    )
    # Each principal's budget of query cost (hub/access/budgets.py, docs/security.md), per process.
    rate_limit_points_per_second: float = Field(
        default=100.0, ge=0, description="points a principal's budget refills each second; 0 switches the limit off"
    )
    rate_limit_burst_points: int = Field(
        default=1000, gt=0, description="points a principal's budget holds at most (and a new one starts with)"
    )
    rate_limit_pause_seconds: float = Field(
        default=1.0, ge=0, description="a refusal for the budget is answered after the wait it names, at most this long"
    )
    graphiql: bool | None = Field(default=None, description="defaults to on in demo, off in production")
    introspection: bool | None = Field(default=None, description="defaults to on in demo, off in production")

    # Document store (docs/documents.md). S3 credentials may also sit in HUB_BLOB_URL.
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0, description="largest file accepted, in bytes")
    blob_gc_grace_seconds: int = Field(default=3600, gt=0, description="gc spares blobs touched this recently")
    blob_gc_interval: float = Field(
        default=3600.0, ge=0, description="seconds between background gc runs in a served hub; 0 switches them off"
    )
    download_link_seconds: int = Field(default=300, gt=0, description="lifetime of a signed download link")
    visit_minutes: int = Field(
        default=120, gt=0, description="how long a clerk reads the data of an applicant at the window"
    )

    # Cases (docs/cases.md): when the hub closes a case nobody carries on as ABANDONED.
    abandon_after_working_days: int = Field(
        default=10, ge=1, description="an open case not accepted within this many working days of opening"
    )
    abandon_uncollected_after_days: int = Field(
        default=90, ge=1, description="a completed case whose results are not collected within this many days"
    )
    abandon_job_interval: float = Field(
        default=3600.0, gt=0, description="seconds between runs of the abandonment job in a served hub"
    )
    # The console (docs/console.md): people's sessions and failed logins.
    console_idle_minutes: int = Field(default=30, gt=0, description="a console session ends after this long unused")
    console_session_hours: int = Field(default=10, gt=0, description="and after this long in any case")
    console_free_login_failures: int = Field(default=2, ge=0, description="failures before logins are slowed")
    console_lockout_failures: int = Field(default=10, gt=0, description="failures that lock an account")

    # Authentication (docs/configuration.md): how long a process may answer a token from memory.
    principal_cache_seconds: float = Field(
        default=5.0, ge=0, description="a revoked token still works this long in other processes at most; 0: off"
    )

    # Trusted documents (docs/trusted-documents.md): registered GraphQL documents, sent by their
    # sha256; "off" ignores the registry, "allow" serves registered and unregistered documents,
    # "require" refuses any document that is not registered.
    trusted_documents: Literal["off", "allow", "require"] = Field(
        default="allow", description="off, allow or require registered documents"
    )

    # Database pool.
    db_pool_size: int = 20
    db_max_overflow: int = 10

    # Access log (docs/audit-log.md): sequencing and checkpoint cadence.
    audit_origin: str = "hub.local/access-log"
    audit_checkpoint_entries: int = Field(default=1000, ge=1, description="sign after this many new entries")
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0, description="or after this long with new entries")
    audit_sequencer_interval: float = Field(default=1.0, gt=0, description="seconds between sequencer runs")
    access_group_commit: bool = Field(
        default=True, description="reads' access entries written in batches, one insert and commit per batch"
    )
    audit_numbered_at_insert: bool = Field(
        default=True,
        description="PostgreSQL: the reads' group commit numbers its entries as it inserts them; "
        "off, it queues them for the sequencer to number (kept to measure one against the other)",
    )
    audit_sequencer_batch: int = Field(default=5000, ge=1, description="entries numbered or hashed per transaction")
    # Witnesses (docs/audit-log.md): `URL KEY` pairs, comma-separated; each new checkpoint is sent
    # to each of them and their cosignatures are stored with it.
    witnesses: str = ""
    witness_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for a witness's answer")
    # Supervision (docs/supervision.md): how often each process tries to evaluate in the background.
    supervision_interval: float = Field(
        default=60.0, ge=0, description="seconds between supervision evaluations; 0 switches them off"
    )
    # Between evaluations, how often a served process looks for newly sequenced log entries and
    # judges them with the anomaly rules alone, so an alert is raised seconds after its entry.
    supervision_log_interval: float = Field(
        default=2.0, ge=0, description="seconds between checks for new log entries to judge; 0 switches them off"
    )
    # Webhooks (docs/webhooks.md): where deliveries may go, how long they may take, how they retry.
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="hosts (exact or *.suffix) and networks (CIDR) endpoints may point at; empty: none",
    )
    webhook_connect_timeout: float = Field(default=5.0, gt=0, description="seconds to connect to a receiver")
    webhook_read_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for its answer")
    webhook_max_response_bytes: int = Field(default=16 * 1024, gt=0, description="response body read, at most")
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0, description="delay after the first failure")
    webhook_retry_cap_seconds: float = Field(default=3 * 3600.0, gt=0, description="longest delay between tries")
    webhook_max_attempts: int = Field(default=19, ge=1, description="tries before a dead letter (~a day)")
    webhook_lease_seconds: float = Field(default=60.0, gt=0, description="a claimed delivery's lease")
    webhook_secret_overlap_seconds: float = Field(default=86400.0, ge=0, description="old secret still signs")
    webhook_worker_batch: int = Field(default=50, ge=1, description="deliveries claimed at once")
    webhook_worker_poll_seconds: float = Field(default=0.5, gt=0, description="idle wait between claims")
    webhook_worker_in_serve: bool | None = Field(default=None, description="defaults to on with SQLite")
    # Connectors (docs/connectors.md): where pulls may fetch pages and documents, as for webhooks.
    connector_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="hosts (exact or *.suffix) and networks (CIDR) pull connectors may fetch from; empty: none",
    )
    connector_schedule_poll_seconds: float = Field(
        default=5.0, gt=0, description="how often workers look for due pulls"
    )
    connector_schedule_lease_seconds: float = Field(default=60.0, gt=0, description="a running pull's lease, renewed")

    # Benchmarks only: guard still decides, but no entry is written. Refused outside `benchmark`.
    audit_recording_disabled_for_benchmark: bool = False

    @model_validator(mode="after")
    def _recording_is_mandatory_outside_benchmarks(self) -> Settings:
        if self.audit_recording_disabled_for_benchmark and self.environment is not Environment.BENCHMARK:
            raise ValueError("the access log can be switched off only with HUB_ENVIRONMENT=benchmark")
        return self

    @model_validator(mode="after")
    def _witnesses_are_url_key_pairs(self) -> Settings:
        for item in filter(str.strip, self.witnesses.split(",")):
            if len(item.split()) != 2:
                raise ValueError(f"HUB_WITNESSES item {item.strip()!r} is not `URL KEY`")
        return self

    @property
    def multipart_body_limit(self) -> int:
        """Room for the operations, the map and the part headers around one file of the largest size."""
        if self.max_multipart_body_bytes is not None:
            return self.max_multipart_body_bytes
        return self.max_upload_bytes + 1024**2

    @property
    def suggestions_enabled(self) -> bool:
        """ "Did you mean ...?" only in the demo: elsewhere it would map the schema for a stranger."""
        return self.environment is Environment.DEMO

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.environment is Environment.DEMO

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment is Environment.DEMO

    @property
    def serve_runs_webhook_worker(self) -> bool:
        if self.webhook_worker_in_serve is not None:
            return self.webhook_worker_in_serve
        return self.is_sqlite

    @model_validator(mode="after")
    def _lease_outlasts_a_delivery(self) -> Settings:
        # A worker must finish (or give up on) a send before its lease lets another worker take it.
        if self.webhook_lease_seconds <= 2 * (self.webhook_connect_timeout + self.webhook_read_timeout):
            raise ValueError("HUB_WEBHOOK_LEASE_SECONDS must exceed twice the connect and read timeouts")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
