"""Conditional writes on S3: create-if-absent (`If-None-Match: *`) and replace-if-unchanged
(`If-Match: <etag>`) on PutObject, which the store checks and applies as one step.

Not every S3 server enforces them; some ignore the headers and overwrite. `probe_conditions`
(at start) asks the store: it writes a probe object under `.lite/`, repeats the write with each
condition that must fail, and deletes the probe. For a condition the store does not enforce (or
before the probe), Lite checks first (HeadObject) and then writes: another writer that comes
between the two, a window of one round trip, is overwritten (docs/object-storage.md).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import ClientError

from lite.config import S3Settings
from lite.errors import LiteError, NotFound, StorageUnavailable, WriteConflict
from lite.storage.base import Tagged
from lite.storage.s3_errors import MISSING

log = logging.getLogger("lite.storage.s3")
PROBE_PREFIX = ".lite/probe-"
IF_NONE_MATCH, IF_MATCH = "IfNoneMatch", "IfMatch"
# How a store treats a condition: enforces it; ignores it (writes anyway); refuses the request.
ENFORCED, IGNORED, REFUSED = "enforced", "ignored", "refused"
CONFLICTS = {"PreconditionFailed", "ConditionalRequestConflict"}  # 412; 409: a concurrent write won
NO_SUCH_ETAG = '"00000000000000000000000000000000"'


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _bare(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


class ConditionalWrites:
    """get_tagged, put_new and put_replacing for S3Storage, and the start-up probe."""

    client: Any
    bucket: str
    backend: str
    settings: S3Settings
    _call: Callable[..., Awaitable[Any]]
    # Until probed (a store opened without prepare): check first, and send the condition too.
    _conditions: dict[str, str] = {}  # replaced whole by probe_conditions, never changed in place

    @property
    def conditional_writes(self) -> bool:
        return all(self._conditions.get(name) == ENFORCED for name in (IF_NONE_MATCH, IF_MATCH))

    async def get_tagged(self, key: str) -> Tagged | None:
        def get() -> Tagged:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            with contextlib.closing(answer["Body"]) as body:
                return Tagged(body.read(), answer["ETag"])

        try:
            return await self._call(get)  # type: ignore[no-any-return]
        except NotFound:
            return None

    async def put_new(self, key: str, data: bytes) -> str:
        how = self._conditions.get(IF_NONE_MATCH)
        if how != ENFORCED and await self._etag_of(key) is not None:
            raise WriteConflict(f"{key} exists already")
        return await self._put(key, data, {} if how == REFUSED else {IF_NONE_MATCH: "*"})

    async def put_replacing(self, key: str, data: bytes, etag: str) -> str:
        how = self._conditions.get(IF_MATCH)
        if how != ENFORCED:
            current = await self._etag_of(key)
            if current is None:
                raise WriteConflict(f"{key} was deleted since it was read")
            if _bare(current) != _bare(etag):
                raise WriteConflict(f"{key} changed since it was read")
        return await self._put(key, data, {} if how == REFUSED else {IF_MATCH: etag})

    async def _etag_of(self, key: str) -> str | None:
        try:
            head = await self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        except NotFound:
            return None
        return str(head["ETag"])

    def _put_sync(self, key: str, data: bytes, condition: dict[str, str]) -> str:
        """One PutObject; WriteConflict when the store refuses it for its condition (a replace of
        a missing object is answered 404 by AWS, 412 by others)."""
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **condition)
        except ClientError as exc:
            code = _code(exc)
            if code in CONFLICTS or _status(exc) == 412 or (IF_MATCH in condition and code in MISSING):
                what = "exists already" if IF_NONE_MATCH in condition else "changed or was deleted"
                raise WriteConflict(f"{key} {what}") from exc
            raise
        etag = answer.get("ETag")
        if not etag:
            raise StorageUnavailable("object storage answered a write without an ETag")
        return str(etag)

    async def _put(self, key: str, data: bytes, condition: dict[str, str]) -> str:
        return await self._call(self._put_sync, key=key, data=data, condition=condition)  # type: ignore[no-any-return]

    async def _try(self, key: str, condition: dict[str, str]) -> str:
        """What the store does with a write whose `condition` does not hold."""

        def attempt() -> str:
            try:
                self._put_sync(key, b"probe", condition)
            except WriteConflict:
                return ENFORCED
            except ClientError as exc:
                if _status(exc) not in (400, 501):  # InvalidRequest, NotImplemented: not this header
                    raise
                return REFUSED
            return IGNORED

        return await self._call(attempt)  # type: ignore[no-any-return]

    async def probe_conditions(self) -> None:
        """At start, a few requests: which conditions the store enforces. A store that cannot be
        probed (a policy that allows writes only under recordings/) stays unprobed: check first."""
        key = f"{PROBE_PREFIX}{secrets.token_hex(8)}"
        try:
            found = {IF_MATCH: await self._try(key, {IF_MATCH: NO_SUCH_ETAG})}  # no object yet
            await self._put(key, b"probe", {})
            found[IF_NONE_MATCH] = await self._try(key, {IF_NONE_MATCH: "*"})
            if found[IF_MATCH] == ENFORCED:  # and on an object that exists, with another tag
                found[IF_MATCH] = await self._try(key, {IF_MATCH: NO_SUCH_ETAG})
        except LiteError as exc:
            log.warning("could not probe %s for conditional writes (%s): they check, then write",
                        self._where, exc.detail)  # fmt: skip
            return
        finally:
            with contextlib.suppress(Exception):
                await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)
        self._conditions = found
        if not self.conditional_writes:
            log.warning(
                "%s does not enforce conditional writes (If-None-Match: %s, If-Match: %s): shared"
                " objects are checked, then written; see docs/object-storage.md",
                self._where, found[IF_NONE_MATCH], found[IF_MATCH],
            )  # fmt: skip

    @property
    def _where(self) -> str:
        return f"object storage ({self.backend}) at {self.settings.endpoint or 'AWS S3'}"
