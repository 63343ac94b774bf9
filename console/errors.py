"""Hub errors as the console shows them: a sentence in the person's language and an HTTP status.

The hub's own messages are English and meant for developers; a person at a window reads the
catalogue's sentence for the error's code (docs/errors.md), and the code itself for support.
"""

from __future__ import annotations

from console.i18n import gettext
from hub.errors import Forbidden, HubError, NotFound, Unauthenticated

MESSAGES = {
    "FORBIDDEN": "You may not do this. The attempt has been recorded in the access log.",
    "NOT_FOUND": "Nothing was found with this identifier.",
    "BAD_USER_INPUT": "Please check what you entered.",
    "INVALID_RESIDENT_ID": "This is not a valid resident ID number: check its 18 characters.",
    "INVALID_CREDIT_CODE": "This is not a valid unified social credit code.",
    "CONFLICT": "This already exists.",
    "EMPTY_FILE": "The file is empty.",
    "FILE_TOO_LARGE": "The file is too large.",
    "UNSUPPORTED_FILE_TYPE": "This type of file is not accepted (PDF, JPEG, PNG or OFD).",
    "FILE_TYPE_MISMATCH": "The file's content does not match its type.",
    "UNKNOWN_SERVICE_ITEM": "Unknown service item.",
    "ITEM_NOT_IN_CURRENT_CATALOG": "This service item is not in the current catalogue.",
    "MATERIAL_NOT_REQUIRED": "The items of this case do not require this material.",
    "MATERIAL_NOT_VALID": "This material is expired or revoked and cannot be used.",
    "KEY_MATERIAL_MISSING": "A key material is missing: the case cannot be accepted yet.",
    "MATERIAL_MISSING": "Materials are missing: the case cannot be accepted yet.",
    "CASE_STATE_CONFLICT": "The case is not in a state that allows this.",
    "DEPARTMENT_NOT_IN_CASE": "Your department does not take part in this case.",
    "OPINION_ALREADY_RECORDED": "Your department has already given its opinion.",
    "LOGIN_REFUSED": "Wrong login name or password.",
    "LOGIN_THROTTLED": "Too many failed logins: please wait a moment and try again.",
    "ACCOUNT_LOCKED": "Too many failed logins: this account is locked. Ask an administrator to reset the password.",
    "SESSION_EXPIRED": "Your session has ended. Please sign in again.",
    "KEY_MATERIAL_CANNOT_BE_PROMISED": "A key material cannot be promised: it must be handed in.",
    "CASE_CLOSED": "The case is closed: nothing more can be done to it.",
    "CASE_OF_ANOTHER_WINDOW": "Only the window that received the case can do this.",
    "ALERT_STATE_CONFLICT": "This step cannot follow the alert's current status.",
    "COMPLAINT_STATE_CONFLICT": "This complaint is already resolved.",
    "CSRF_REJECTED": "This form is out of date or did not come from the console. Please reload the page.",
}
GENERIC = "The request could not be completed."


def message_for(error: HubError) -> str:
    return gettext(MESSAGES.get(error.code, GENERIC)) + f" ({error.code})"


def status_for(error: HubError) -> int:
    if isinstance(error, Unauthenticated):
        return 401
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    return 400
