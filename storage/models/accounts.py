"""People who sign in to the console, and their server-side sessions.

A person's account is bound to a principal: everything they do in the console is done, checked and
logged as that principal, exactly as a GraphQL call with its token would be. The principal's token
is never shown, so the account's password (an argon2id hash) is the only way in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime, utcnow


class ConsoleUser(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), unique=True)
    # clerk, reviewer, auditor or admin: what the console shows them (the principal's role decides).
    kind: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Failed logins since the last success or reset; each adds to the wait before the next try.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's value is stored."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    # Sent back in every state-changing form; compared in constant time.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
