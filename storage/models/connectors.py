"""What connectors remember between runs: how far a pull from a department's database has read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class PullWatermark(Base):
    """The highest watermark value a pull has applied, per department and source (URL, query, column)."""

    __tablename__ = "connector_watermarks"

    # "<department code>:<hash of the source URL without password, the query and the column>".
    source_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # JSON {"type": "int" | "float" | "str" | "datetime" | "date", "value": ...}.
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
