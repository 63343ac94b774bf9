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


class InvalidFieldValue(InvalidInput):
    """A profile value that is not of its field's type (a date, a phone number, 男 or 女...)."""

    code = "INVALID_FIELD_VALUE"


class FieldContradictsIdentifier(InvalidInput):
    """A profile value that disagrees with what the resident ID or credit code encodes."""

    code = "FIELD_CONTRADICTS_IDENTIFIER"


class Conflict(HubError):
    code = "CONFLICT"


class CatalogError(InvalidInput):
    code = "INVALID_CATALOG"


class CalendarOutOfRange(HubError):
    """A working-day computation reached a year the hub keeps no calendar for (before 2001, after 2099)."""

    code = "CALENDAR_OUT_OF_RANGE"


class InvalidCalendarNotice(InvalidInput):
    """`hub calendar load`: a holiday notice that is not a consistent year's schedule; nothing is written."""

    code = "INVALID_CALENDAR_NOTICE"


# The document store (docs/documents.md): uploads, blobs and download links.


class UnknownMaterialType(InvalidInput):
    code = "UNKNOWN_MATERIAL_TYPE"


class EmptyFile(InvalidInput):
    code = "EMPTY_FILE"


class FileTooLarge(InvalidInput):
    code = "FILE_TOO_LARGE"


class UnsupportedFileType(InvalidInput):
    code = "UNSUPPORTED_FILE_TYPE"


class FileTypeMismatch(InvalidInput):
    code = "FILE_TYPE_MISMATCH"


class MaterialNotCurrent(Conflict):
    """The material was revoked or superseded, so it takes no new version and no second revocation."""

    code = "MATERIAL_NOT_CURRENT"


class UploadInProgress(Conflict):
    code = "UPLOAD_IN_PROGRESS"


class BlobStoreUnavailable(HubError):
    code = "BLOB_STORE_UNAVAILABLE"


class SourceUnavailable(HubError):
    """A department's system that a connector reads did not answer, after its retries."""

    code = "SOURCE_UNAVAILABLE"


class SourceUrlNotAllowed(InvalidInput):
    """A URL a connector would fetch (a page, a document) is off `HUB_CONNECTOR_ALLOWED_HOSTS`, or
    its host resolves to an address outbound requests may not reach (hub/outbound/)."""

    code = "SOURCE_URL_NOT_ALLOWED"


class BlobCorrupted(HubError):
    """Stored ciphertext failed authentication: it was altered or truncated. Never served."""

    code = "BLOB_CORRUPTED"


class InvalidDownloadLink(HubError):
    code = "INVALID_DOWNLOAD_LINK"


class DownloadLinkExpired(InvalidDownloadLink):
    code = "DOWNLOAD_LINK_EXPIRED"


# Cases (docs/cases.md): one-time notice, acceptance, reviews, completion.


class UnknownServiceItem(InvalidInput):
    code = "UNKNOWN_SERVICE_ITEM"


class ItemNotInCurrentCatalog(InvalidInput):
    """The item belongs to another catalogue version than the current one."""

    code = "ITEM_NOT_IN_CURRENT_CATALOG"


class MaterialNotRequired(InvalidInput):
    code = "MATERIAL_NOT_REQUIRED"


class MaterialOfAnotherApplicant(InvalidInput):
    code = "MATERIAL_OF_ANOTHER_APPLICANT"


class MaterialNotValid(InvalidInput):
    """Revoked, expired or superseded: it cannot be attached to a new decision."""

    code = "MATERIAL_NOT_VALID"


class KeyMaterialCannotBePromised(InvalidInput):
    code = "KEY_MATERIAL_CANNOT_BE_PROMISED"


class KeyMaterialMissing(Conflict):
    code = "KEY_MATERIAL_MISSING"


class MaterialMissing(Conflict):
    """A non-key material is neither attached nor promised (容缺) at acceptance."""

    code = "MATERIAL_MISSING"


class CaseStateConflict(Conflict):
    """The case is not in a state that allows this step (e.g. an opinion on a case not accepted)."""

    code = "CASE_STATE_CONFLICT"


class CaseClosed(Conflict):
    """Completed, withdrawn or abandoned: the case is over and cannot be withdrawn."""

    code = "CASE_CLOSED"


class CaseOfAnotherWindow(HubError):
    """Only the window (department) that received a case withdraws it or hands out its results."""

    code = "CASE_OF_ANOTHER_WINDOW"


class DepartmentNotInCase(HubError):
    code = "DEPARTMENT_NOT_IN_CASE"


class NotAcceptedAtThisLevel(Conflict):
    """Three-level halls: an item of the case is not accepted at the level of the caller's centre."""

    code = "NOT_ACCEPTED_AT_THIS_LEVEL"


class NoDecidingDepartment(Conflict):
    """Three-level halls: no department of the item's line sits at the centre that decides it."""

    code = "NO_DECIDING_DEPARTMENT"


class InvalidCentres(InvalidInput):
    """A service centres file (`hub centre load`) or a new centre is malformed or breaks the tree."""

    code = "INVALID_CENTRES"


class OpinionAlreadyRecorded(Conflict):
    """A department's second opinion must be given as an explicit revision."""

    code = "OPINION_ALREADY_RECORDED"


class PromisesUnmet(Conflict):
    code = "PROMISES_UNMET"


class ItemsNotAccepted(Conflict):
    """Completing a bundle while some of its items wait for acceptance (一件事一次办)."""

    code = "ITEMS_NOT_ACCEPTED"


class ReviewsOpen(Conflict):
    code = "REVIEWS_OPEN"


# Chief representatives (首席代表, docs/cases.md): a department's authorisation of a clerk to decide.


class NotAuthorised(Forbidden):
    """A clerk deciding (an opinion, a result of their department) without an authorisation in force
    covering every item of their department in the case: none, withdrawn, expired or too narrow."""

    code = "NOT_AUTHORISED"


class OutsideOwnDepartment(HubError):
    """A department authorises only its own clerks for items it takes part in, withdraws only its own
    authorisations, and reads only its own; a clerk reads only their own."""

    code = "OUTSIDE_OWN_DEPARTMENT"


class AuthorisationWithdrawn(Conflict):
    """The authorisation was withdrawn already: withdrawal happens once."""

    code = "AUTHORISATION_WITHDRAWN"


# The GraphQL edge (schema/asgi.py, schema/limits.py): requests refused before anything runs.


class MalformedRequest(HubError):
    """The HTTP request is not a GraphQL request the hub can read (body, content type, multipart)."""

    code = "MALFORMED_REQUEST"


class PayloadTooLarge(HubError):
    """A request body or a document over its configured size: refused before it is read whole."""

    code = "PAYLOAD_TOO_LARGE"


class QueryTooComplex(HubError):
    """A document that asks for more fields, depth or aliases than configured: refused before it runs."""

    code = "QUERY_TOO_COMPLEX"


class DocumentNotRegistered(HubError):
    """A document sent by its hash that the registry does not hold, or, with
    HUB_TRUSTED_DOCUMENTS=require, a document sent as text that is not registered."""

    code = "DOCUMENT_NOT_REGISTERED"


class RateLimited(HubError):
    """A principal's budget of query cost cannot pay for this request now (hub/access/budgets.py)."""

    code = "RATE_LIMITED"


# The access policy and log (docs/access-policy.md, docs/audit-log.md).


class InvalidPurpose(HubError):
    """A declared purpose outside the one grammar "<kind>:<ref>" (hub/access/purposes.py)."""

    code = "INVALID_PURPOSE"


class AccessLogUnavailable(Exception):
    """The access entries of a request could not be written, so the request fails (fail closed).

    Deliberately not a HubError: clients get the masked INTERNAL_SERVER_ERROR, never the database's
    message, which quotes the statement and its parameters."""


class PauseAlreadyOpen(Conflict):
    """A department's clock is already paused; end that pause before starting another."""

    code = "PAUSE_ALREADY_OPEN"


class NoOpenPause(Conflict):
    code = "NO_OPEN_PAUSE"


# Supervision (docs/supervision.md).


class AlertStateConflict(Conflict):
    """The step does not follow from where the alert's life stands (e.g. closing an open alert)."""

    code = "ALERT_STATE_CONFLICT"


class ComplaintStateConflict(Conflict):
    """A complaint already resolved cannot be resolved again."""

    code = "COMPLAINT_STATE_CONFLICT"


# Webhooks (docs/webhooks.md): endpoints departments register, and their deliveries.


class WebhookUrlNotAllowed(InvalidInput):
    """The endpoint's URL is not https/http, or its host is not on the operator's allowlist."""

    code = "WEBHOOK_URL_NOT_ALLOWED"


class UnknownEventType(InvalidInput):
    code = "UNKNOWN_EVENT_TYPE"


class DeliveryNotDead(Conflict):
    """Only a dead letter can be replayed; a pending delivery is already on its way."""

    code = "DELIVERY_NOT_DEAD"


# The console (docs/console.md): people signing in.


class LoginRefused(Unauthenticated):
    """A wrong login name or password (answered alike), or a disabled account."""

    code = "LOGIN_REFUSED"


class LoginThrottled(Unauthenticated):
    """Too soon after failed logins: the wait grows with each failure."""

    code = "LOGIN_THROTTLED"


class AccountLocked(Unauthenticated):
    """Too many failed logins: only `hub user reset-password` opens the account again."""

    code = "ACCOUNT_LOCKED"


class SessionExpired(Unauthenticated):
    """No console session, or one unused too long, past its lifetime, or ended."""

    code = "SESSION_EXPIRED"


class CsrfRejected(Forbidden):
    """A state-changing form without the session's CSRF token."""

    code = "CSRF_REJECTED"
