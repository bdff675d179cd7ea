"""Domain errors. Each carries the HTTP status it maps to, so routes never translate by hand."""

from __future__ import annotations


class LiteError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadInput(LiteError):
    status_code = 422


class UnsupportedMedia(LiteError):
    status_code = 415


class NotFound(LiteError):
    status_code = 404


class Conflict(LiteError):
    status_code = 409


class WriteConflict(Conflict):
    """A conditional write lost: the object was created, changed or deleted since it was read."""


class TooLarge(LiteError):
    status_code = 413


class Unauthorized(LiteError):
    status_code = 401


class Forbidden(LiteError):
    status_code = 403


class StorageFull(LiteError):
    status_code = 507


class StorageUnavailable(LiteError):
    status_code = 503


class Busy(LiteError):
    """A bound the server keeps on purpose is reached: 503 with Retry-After, come back later."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
