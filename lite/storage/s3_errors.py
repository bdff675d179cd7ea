"""What an object store's refusal means, in words that name the setting to fix.

"object storage refused the request (403)" leaves a self-hoster guessing between a wrong key, a
wrong secret, a missing bucket, a wrong endpoint and a wrong clock. S3 tells them apart by error
code (in the XML body; HEAD answers have none, so start-up asks again with a request that has one).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from lite.config import S3Settings
from lite.errors import NotFound, StorageUnavailable

MISSING = {"404", "NoSuchKey", "NotFound"}


def _hints(s: S3Settings) -> dict[str, str]:
    access, secret = s.key_variables
    where = s.endpoint or "AWS S3"
    return {
        "InvalidAccessKeyId": f"the store at {where} does not know the access key: check {access}",
        "SignatureDoesNotMatch": f"the store at {where} rejected the request's signature: the secret key"
        f" does not match the access key, check {secret}",
        "AuthorizationHeaderMalformed": f"the store rejected the region {s.region!r}: check AWS_REGION",
        "InvalidToken": "the session token is invalid: check AWS_SESSION_TOKEN",
        "ExpiredToken": "the session token has expired: renew AWS_SESSION_TOKEN",
        "RequestTimeTooSkewed": "this machine's clock and the store's differ by more than 15 minutes:"
        " set the clock (NTP); signatures are only valid near the current time",
        "NoSuchBucket": f"the bucket {s.bucket!r} does not exist at {where}: check {s.bucket_variable}",
        "AccessDenied": f"the credentials in {access}/{secret} may not use the bucket {s.bucket!r}",
        "403": f"access denied to the bucket {s.bucket!r} at {where}: check {access} and {secret}",
    }


def translate(exc: Exception, settings: S3Settings) -> Exception:
    """A domain error for a botocore error: NotFound for a missing object, else StorageUnavailable
    with the reason and the variable to look at."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in MISSING:
            return NotFound("no such object")
        hint = _hints(settings).get(code)
        suffix = f": {hint}" if hint else ""
        return StorageUnavailable(f"object storage refused the request ({code or 'unknown error'}){suffix}")
    return unreachable(settings)


def unreachable(settings: S3Settings) -> StorageUnavailable:
    where = settings.endpoint or "AWS S3"
    return StorageUnavailable(
        f"object storage is unreachable at {where}: check {settings.endpoint_variable} and the network"
    )
