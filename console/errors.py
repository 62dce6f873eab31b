"""Domain errors. No HTTP in them: the API maps them to status codes, pages to notifications."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    """The record does not exist, or is outside the caller's scope (the two are never told apart)."""

    code = "not_found"


class Unauthenticated(DomainError):
    """No valid credential (missing, unknown, revoked or expired: never told apart)."""

    code = "unauthorized"


class PermissionDenied(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class ValidationFailed(DomainError):
    """Input was refused. `details` maps field name → message, for inline display."""

    code = "validation_failed"

    @property
    def field_errors(self) -> dict[str, str]:
        return self.details


class TooLarge(ValidationFailed):
    """Input over a size limit or a quota (an HTTP boundary answers 413)."""

    code = "too_large"
