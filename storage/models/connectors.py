"""What connectors remember between runs: how far a pull has read, the materials it issued, a
record of every run for the operator, and the pulls the workers run on a schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime


class PullWatermark(Base):
    """The highest watermark value a pull has applied, per department and source (URL, query, column)."""

    __tablename__ = "connector_watermarks"

    # "<department code>:<hash of the source URL without password, the query and the column>".
    source_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # JSON {"type": "int" | "float" | "str" | "datetime" | "date", "value": ...}.
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IssuedMaterial(Base):
    """A material issued elsewhere (an e-licence) that a pull brought in: a rerun finds it here and
    issues nothing again unless the content changed (then the material gets a new version)."""

    __tablename__ = "connector_materials"

    # The pull's source key (department and source), and the record's own key at the source.
    source_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # SHA-256 of the content last stored, so unchanged content is recognised without reading it back.
    sha256: Mapped[str] = mapped_column(String(64))
    material_id: Mapped[int] = mapped_column(BigId, ForeignKey("materials.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectorRun(Base):
    """One run of a connector (by hand or scheduled): its counts and refusals, for the operator."""

    __tablename__ = "connector_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer)
    # JSON objects: outcome -> count ("registered", "material issued", ...), error code -> count.
    outcomes: Mapped[str] = mapped_column(Text)
    refusals: Mapped[str] = mapped_column(Text)
    # The error that stopped the run before or while reading (its code and message), if any.
    error: Mapped[str | None] = mapped_column(Text)


class ConnectorSchedule(Base):
    """A pull the workers run every `interval_seconds` (`hub connector schedule add`), one run at a
    time across processes: a worker takes the schedule's lease before running and renews it meanwhile."""

    __tablename__ = "connector_schedules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The name its runs are recorded under (connector_runs.name).
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "pull-rest" | "pull-sql"
    # pull-rest: the first page's URL; pull-sql: the environment variable holding the database URL
    # (it may hold a password, so never stored here).
    source: Mapped[str] = mapped_column(Text)
    # JSON of the pull's options: the query and watermark column, or the watermark field, rate and
    # retries; and the material type of the records' documents.
    mapping: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(200))
    # The file holding the principal's token, read at each run: the token itself is never stored.
    token_file: Mapped[str] = mapped_column(Text)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
