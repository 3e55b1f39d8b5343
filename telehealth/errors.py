"""Domain errors: named after what went wrong, mapped to HTTP in one place (telehealth.http.errors)."""

from __future__ import annotations

from typing import Any

from telehealth.error_codes import ErrorCode


class DomainError(Exception):
    """Base of every error a service raises on purpose; carries a stable machine-readable code."""

    status = 400
    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule (422)."""

    status = 422
    code = ErrorCode.INVALID_INPUT


class NotAuthenticated(DomainError):
    """No valid session or token (401)."""

    status = 401
    code = ErrorCode.NOT_AUTHENTICATED


class PermissionDenied(DomainError):
    """Authenticated, but the role may not do this at all (403). Never used for other users' objects."""

    status = 403
    code = ErrorCode.PERMISSION_DENIED


class NotFound(DomainError):
    """The object does not exist *or the actor may not see it* (404): no existence leak."""

    status = 404
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    """The request collides with the current state (409): double booking, signed note, stale version."""

    status = 409
    code = ErrorCode.CONFLICT


class TooManyRequests(DomainError):
    """A rate limit or lockout applies (429); retry_after is whole seconds."""

    status = 429
    code = ErrorCode.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after: int, code: ErrorCode | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class DatabaseUnavailable(DomainError):
    """The database cannot be reached or did not answer in time (503); nothing was committed."""

    status = 503
    code = ErrorCode.DATABASE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after
