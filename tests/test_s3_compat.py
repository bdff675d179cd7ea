"""What S3-compatible stores do differently from AWS and moto, and how Lite copes:

- some answer a ranged GET with the whole object's checksum: with botocore's default checksum
  validation ("when_supported", since 1.36) every seek then fails; Lite asks for checksums only
  where S3 requires them, so ranged /raw reads work;
- a wrong key, a wrong secret, a missing bucket, a wrong endpoint: each refusal names the setting
  to fix (s3rver checks signatures, so a wrong secret is refused as by a real store).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import FlexibleChecksumError

from lite.config import ConfigError, load_settings
from lite.services import open_storage
from tests.conftest import S3_KEYS, backend_env, start_server
from tests.s3servers import ChecksumOnRanges
from tests.test_api_recordings import upload

WAV = b"RIFF" + (80_000 - 8).to_bytes(4, "little") + b"WAVE" + bytes(range(256)) * 312 + b"\0" * 116


@pytest.fixture(params=["moto", "s3rver"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_endpoint"))


@pytest.fixture
def checksum_proxy(store: str) -> Iterator[ChecksumOnRanges]:
    proxy = ChecksumOnRanges(store)
    yield proxy
    proxy.close()


def test_botocores_default_fails_a_ranged_read_from_such_a_store(checksum_proxy: ChecksumOnRanges) -> None:
    """The failure Lite avoids, shown with a plain boto3 client on botocore's defaults."""
    client = boto3.client("s3", endpoint_url=checksum_proxy.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(s3={"addressing_style": "path"}))  # fmt: skip
    client.create_bucket(Bucket="checksums")
    client.put_object(Bucket="checksums", Key="k", Body=WAV)
    checksum_proxy.whole_object = WAV
    answer = client.get_object(Bucket="checksums", Key="k", Range="bytes=100-199")
    with pytest.raises(FlexibleChecksumError):
        answer["Body"].read()


@pytest.mark.parametrize("backend", ["minio", "s3"])
def test_raw_ranges_play_from_a_store_that_sends_whole_object_checksums(
    backend: str, checksum_proxy: ChecksumOnRanges, tmp_path: Path
) -> None:
    live = start_server(load_settings(backend_env(backend, tmp_path, checksum_proxy.url)))
    try:
        with httpx.Client(base_url=live.url, headers={"X-Admin-API-Key": "test-admin-token"}) as admin:
            user = admin.post("/admin/users", json={"email": "seek@example.com"}).json()
            key = admin.post(f"/admin/users/{user['id']}/tokens").json()["token"]
        with httpx.Client(base_url=live.url, headers={"X-API-Key": key}, timeout=30) as api:
            recording = upload(api, WAV, "seek.wav").json()
            checksum_proxy.whole_object = WAV
            raw = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/raw"
            for start, end in ((0, 0), (100, 199), (40_000, 79_999)):
                part = api.get(raw, headers={"Range": f"bytes={start}-{end}"})
                assert part.status_code == 206, part.text
                assert part.content == WAV[start : end + 1]
    finally:
        live.stop()


def _refusal(env: dict[str, str]) -> str:
    import anyio

    with pytest.raises(ConfigError) as refused:
        anyio.run(open_storage, load_settings(env))
    return str(refused.value)


@pytest.mark.parametrize(
    ("backend", "change", "words"),
    [
        ("minio", {"MINIO_SECRET_KEY": "not-the-secret"}, "check MINIO_SECRET_KEY"),
        ("minio", {"MINIO_ACCESS_KEY": "nobody"}, "check MINIO_ACCESS_KEY"),
        ("s3", {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "check AWS_SECRET_ACCESS_KEY"),
        ("s3", {"AWS_ACCESS_KEY_ID": "nobody"}, "check AWS_ACCESS_KEY_ID"),
        ("s3", {"S3_BUCKET": "no-such-bucket"}, "check S3_BUCKET"),
    ],
    ids=["minio-secret", "minio-key", "s3-secret", "s3-key", "s3-bucket"],
)
def test_a_refused_start_names_the_setting_to_fix(
    s3rver_endpoint: str, tmp_path: Path, backend: str, change: dict[str, str], words: str
) -> None:
    env = backend_env(backend, tmp_path, s3rver_endpoint) | change
    assert words in _refusal(env)


@pytest.mark.parametrize("backend", ["minio", "s3"])
def test_an_endpoint_where_nothing_listens_names_the_endpoint_variable(tmp_path: Path, backend: str) -> None:
    from tests.s3servers import free_port

    nowhere = f"http://127.0.0.1:{free_port()}"
    s3 = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ENDPOINT": nowhere, **S3_KEYS}
    env = (
        backend_env("minio", tmp_path, nowhere)
        if backend == "minio"
        else {**backend_env("local", tmp_path, None), **s3}
    )
    variable = "MINIO_ENDPOINT" if backend == "minio" else "S3_ENDPOINT"
    assert f"unreachable at {nowhere}: check {variable}" in _refusal(env)


def test_checksum_modes_follow_botocores_variables_when_set(tmp_path: Path) -> None:
    env = backend_env("local", tmp_path, None) | {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b"}
    assert load_settings(env).s3.request_checksums == "when_required"  # type: ignore[union-attr]
    chosen = load_settings(env | {"AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_SUPPORTED"})
    assert chosen.s3.request_checksums == "when_supported"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="AWS_RESPONSE_CHECKSUM_VALIDATION"):
        load_settings(env | {"AWS_RESPONSE_CHECKSUM_VALIDATION": "always"})
    assert dataclasses.is_dataclass(chosen)


def test_a_presigned_url_for_the_public_endpoint_passes_a_store_that_checks_signatures(
    s3rver_endpoint: str, tmp_path: Path
) -> None:
    """Browsers reach the store as `localhost`, the server as 127.0.0.1: the URL is signed for the
    name browsers use, and s3rver (which checks query signatures, host included) serves it."""
    import anyio

    public = s3rver_endpoint.replace("127.0.0.1", "localhost")
    env = backend_env("minio", tmp_path, s3rver_endpoint) | {"MINIO_PUBLIC_ENDPOINT": public}

    async def presigned() -> str:
        storage = await open_storage(load_settings(env))
        try:
            await storage.put_bytes("recordings/1/2/s.wav", WAV)
            url = storage.presign("recordings/1/2/s.wav", 'attachment; filename="s.wav"', "audio/wav", 60)
            assert url is not None
            return url
        finally:
            await storage.aclose()

    url = anyio.run(presigned)
    assert url.startswith(public)
    assert httpx.get(url).content == WAV
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
