"""One hierarchy of domain errors; each carries the `extensions.code` clients see (docs/errors.md)."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """A failure the caller can act on. Never masked: its message and code reach the client."""

    code = "HUB_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class Forbidden(HubError):
    code = "FORBIDDEN"


class NotFound(HubError):
    code = "NOT_FOUND"


class InvalidInput(HubError):
    code = "BAD_USER_INPUT"


class InvalidResidentId(InvalidInput):
    code = "INVALID_RESIDENT_ID"


class InvalidCreditCode(InvalidInput):
    code = "INVALID_CREDIT_CODE"


class Conflict(HubError):
    code = "CONFLICT"


class CatalogError(InvalidInput):
    code = "INVALID_CATALOG"


class CalendarOutOfRange(HubError):
    """A working-day computation reached a year whose official holidays the hub does not know."""

    code = "CALENDAR_OUT_OF_RANGE"
