"""Trusted documents: the GraphQL documents department systems and the console registered, by hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class TrustedDocument(Base):
    """One registered document, named by the SHA-256 of its UTF-8 text (lower-case hex)."""

    __tablename__ = "trusted_documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    # Who registered it, as the operator named them (`hub documents register --by`), and when.
    registered_by: Mapped[str] = mapped_column(String(200), default="")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
