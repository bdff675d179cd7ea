"""Domain errors. Each carries the HTTP status it maps to, so routes never translate by hand, and
a stable `code` that clients may branch on (the `detail` sentence is for people and may change)."""

from __future__ import annotations


class LiteError(Exception):
    status_code, code = 500, "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadInput(LiteError):
    status_code, code = 422, "invalid_input"


class UnsupportedMedia(LiteError):
    status_code, code = 415, "unsupported_media"


class NotFound(LiteError):
    status_code, code = 404, "not_found"


class Conflict(LiteError):
    status_code, code = 409, "conflict"


class WriteConflict(Conflict):
    """A conditional write lost: the object was created, changed or deleted since it was read."""

    code = "write_conflict"


class TooLarge(LiteError):
    status_code, code = 413, "too_large"


class Unauthorized(LiteError):
    status_code, code = 401, "unauthorized"


class Forbidden(LiteError):
    status_code, code = 403, "forbidden"


class StorageFull(LiteError):
    status_code, code = 507, "storage_full"


class StorageUnavailable(LiteError):
    status_code, code = 503, "storage_unavailable"


class Busy(LiteError):
    """A bound the server keeps on purpose is reached: 503 with Retry-After, come back later."""

    status_code, code = 503, "busy"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
