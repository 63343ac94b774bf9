"""Errors on the wire: domain errors keep their message and `extensions.code`; the rest is masked."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from hub.errors import HubError
from hub.metrics import GRAPHQL_ERRORS

INTERNAL_ERROR = "INTERNAL_SERVER_ERROR"
VALIDATION_ERROR = "GRAPHQL_VALIDATION_FAILED"


BAD_INPUT = "BAD_USER_INPUT"


def _is_domain_error(error: GraphQLError) -> bool:
    return isinstance(error.original_error, HubError)


def is_variable_error(error: GraphQLError) -> bool:
    """A variable the schema cannot take (an invalid date, null for a required value): the caller's
    mistake, found by graphql-core before anything runs, so never masked as an internal error."""
    return error.path is None and error.message.startswith("Variable '$")


def is_client_error(error: GraphQLError) -> bool:
    return error.original_error is None or _is_domain_error(error) or is_variable_error(error)


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, HubError):
        return original.code
    if is_variable_error(error):
        return BAD_INPUT
    if original is None:
        # Parse, validation and limiter errors come without an original error.
        return VALIDATION_ERROR
    return INTERNAL_ERROR


class HubMaskErrors(MaskErrors):
    """Masks unexpected errors, stamps every error with its code and counts it in /metrics."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask, error_message="Internal server error.")

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        return not is_client_error(error)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL_ERROR}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            original = error.original_error
            if isinstance(original, HubError):
                error.extensions = {**(error.extensions or {}), **original.extensions()}
            elif not error.extensions or "code" not in error.extensions:
                error.extensions = {**(error.extensions or {}), "code": error_code(error)}
            GRAPHQL_ERRORS.labels(code=error.extensions["code"]).inc()
        return processed
