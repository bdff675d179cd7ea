"""S3 backend through boto3; one class serves AWS S3 and MinIO (path-style addressing).

boto3 is blocking, so every call runs in a worker thread. Uploads stream as multipart uploads
(one part in flight while the next is received), so memory stays at about two parts whatever the
file size; an upload that fails is aborted, so nothing appears under the key. Conditional writes
(If-None-Match / If-Match, and the start-up probe of the store) are in s3_conditional.py, reads
in s3_reader.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import boto3
from anyio import to_thread
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from lite.config import S3Settings
from lite.errors import NotFound, StorageUnavailable
from lite.storage.base import ObjectInfo, Storage
from lite.storage.s3_conditional import ConditionalWrites
from lite.storage.s3_errors import translate, unreachable
from lite.storage.s3_reader import ObjectReads

PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB; 8 MiB keeps memory low and requests few
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
# Worst case for one call against a hung store, about 9 s: two attempts of (1 s waiting for
# "100 Continue" on uploads + READ_TIMEOUT), and a backoff under 1 s between them.
TOTAL_ATTEMPTS = 2
UNREACHABLE_SECONDS = 3.0
T = TypeVar("T")


def _client_config(settings: S3Settings) -> Config:
    # An unreachable or hung store must fail a request within ~10 s (503), not hold it for minutes:
    # a socket that connects but stays silent for READ_TIMEOUT is dead (the timeout is per read, so
    # long transfers are fine), and one retry (TOTAL_ATTEMPTS) covers a dropped connection.
    #
    # Checksums "when_required", not botocore's default "when_supported" (since 1.36): with that
    # default every GET asks for the stored checksum (x-amz-checksum-mode) and validates the body
    # against it, and S3-compatible stores that answer a *ranged* GET with the whole object's
    # checksum make every seek fail; other stores reject the trailing-checksum uploads it sends.
    # AWS's own SDKs and the stores (Cloudflare R2, Backblaze B2, MinIO, Ceph) document
    # "when_required" for third-party endpoints. On AWS itself it costs no safety Lite relies on:
    # TLS protects the transfer, and Lite keeps its own SHA-256 of every media file.
    return Config(
        signature_version="s3v4",
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
        max_pool_connections=64,
        s3={"addressing_style": "path" if settings.path_style else "auto"},
        request_checksum_calculation=settings.request_checksums,
        response_checksum_validation=settings.response_checksums,
    )


class S3Storage(ObjectReads, ConditionalWrites, Storage):
    shared = True  # replicas run stateless on one bucket

    def __init__(self, settings: S3Settings, backend: str) -> None:
        self.backend = backend
        self.bucket = settings.bucket
        self.settings = settings
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            region_name=settings.region,
        )
        config = _client_config(settings)
        self.client = session.client("s3", endpoint_url=settings.endpoint, config=config)
        # Presigning is offline; sign for the host browsers reach when it differs.
        self.public_client = (
            session.client("s3", endpoint_url=settings.public_endpoint, config=config)
            if settings.public_endpoint
            else self.client
        )
        self._unreachable_until = 0.0  # time.monotonic() until which calls fail at once

    def _sync(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """One blocking boto3 call. Once a call finds the store unreachable (refused, timed out),
        calls fail at once for UNREACHABLE_SECONDS, so a request's follow-up calls (its cleanup)
        and the requests behind it answer 503 at once instead of each waiting out the timeouts."""
        if time.monotonic() < self._unreachable_until:
            raise unreachable(self.settings)
        try:
            return fn(**kwargs)
        except ClientError as exc:
            raise translate(exc, self.settings) from exc
        except BotoCoreError as exc:
            if isinstance(exc, BotoConnectionError | HTTPClientError):
                self._unreachable_until = time.monotonic() + UNREACHABLE_SECONDS
            raise translate(exc, self.settings) from exc

    async def _call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        return await to_thread.run_sync(lambda: self._sync(fn, **kwargs))

    async def _write(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        in_flight: asyncio.Task[None] | None = None
        next_part = 1

        async def send_part(number: int, body: bytes) -> None:
            assert upload_id is not None
            answer = await self._call(
                self.client.upload_part,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) < PART_SIZE:
                    continue
                if upload_id is None:
                    started = await self._call(
                        self.client.create_multipart_upload, Bucket=self.bucket, Key=key
                    )
                    upload_id = started["UploadId"]
                if in_flight is not None:
                    await in_flight
                body, buffer = bytes(buffer), bytearray()
                in_flight = asyncio.ensure_future(send_part(next_part, body))
                next_part += 1
            if in_flight is not None:
                await in_flight
                in_flight = None
            if upload_id is None:
                await self._call(self.client.put_object, Bucket=self.bucket, Key=key, Body=bytes(buffer))
                return
            if buffer:
                await send_part(next_part, bytes(buffer))
            parts.sort(key=lambda part: part["PartNumber"])
            await self._call(
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if in_flight is not None:
                in_flight.cancel()
            if upload_id is not None:
                await self._abort(key, upload_id)
            raise

    async def _abort(self, key: str, upload_id: str) -> None:
        # Best effort: a bucket lifecycle rule reaps incomplete uploads that this misses.
        with contextlib.suppress(Exception):
            await self._call(
                self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id
            )

    async def stat(self, key: str) -> ObjectInfo:
        head = await self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        return ObjectInfo(key, int(head["ContentLength"]), head["LastModified"])

    async def delete(self, key: str) -> None:
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)

    async def _pages(self, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        """list_objects_v2, page by page (S3 answers 1,000 keys a page)."""
        token: str | None = None
        while True:
            page = await self._call(
                self.client.list_objects_v2,
                Bucket=self.bucket,
                MaxKeys=1000,
                **kwargs,
                **({"ContinuationToken": token} if token else {}),
            )
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        async for page in self._pages(Prefix=prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"], int(item["Size"]), item["LastModified"])

    async def list_dirs(self, prefix: str) -> AsyncIterator[str]:
        async for page in self._pages(Prefix=prefix, Delimiter="/"):
            for item in page.get("CommonPrefixes", []):
                yield item["Prefix"][len(prefix) :].rstrip("/")

    def presign(self, key: str, disposition: str, content_type: str, expires: int) -> str | None:
        return self.public_client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires,
        )

    async def check(self) -> None:
        await self._head_bucket()

    async def _head_bucket(self) -> None:
        """HEAD answers carry no error code, so a refusal is asked again with a listing, whose
        answer says why (wrong key, wrong secret, skewed clock...)."""
        try:
            await self._call(self.client.head_bucket, Bucket=self.bucket)
        except StorageUnavailable as exc:
            if "(403)" not in exc.detail and "(400)" not in exc.detail:
                raise
            await self._call(self.client.list_objects_v2, Bucket=self.bucket, MaxKeys=1)
            raise  # listed fine after all: the HEAD's own answer stands

    async def prepare(self) -> None:
        """At start: MinIO gets a missing bucket created (on S3 a missing bucket is an error);
        then the store is asked which conditional writes it enforces."""
        try:
            await self._head_bucket()
        except NotFound:
            if not self.settings.create_bucket:
                variable = self.settings.bucket_variable
                raise StorageUnavailable(
                    f"the bucket {self.bucket!r} does not exist: create it, or check {variable}"
                ) from None
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.settings.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
            await self._call(self.client.create_bucket, **kwargs)
        await self.probe_conditions()
