"""Shared fixtures: the storage backends (S3 ones on real S3 servers: moto, and s3rver) and a live server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import uvicorn

from lite.config import Settings, load_settings
from lite.http.app import create_app
from lite.services import build_services
from tests import s3servers
from tests.s3servers import free_port, wait_for_port

BACKENDS = ["local", "minio", "s3"]
# The storage-level and /raw suites also run on the second S3 server: "<backend>@<server>".
BACKENDS_ON_EVERY_S3_SERVER = [*BACKENDS, "minio@s3rver", "s3@s3rver"]
ADMIN_TOKEN = "test-admin-token"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3 HTTP endpoint: moto in server mode, in its own process."""
    yield from s3servers.moto()


@pytest.fixture(scope="session")
def s3rver_endpoint() -> Iterator[str]:
    """A second S3 implementation, which (unlike moto) verifies request signatures."""
    yield from s3servers.s3rver()


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def backend_env(backend: str, tmp_path: Path, endpoint: str | None) -> dict[str, str]:
    """Environment for one backend; every call gets its own data directory and bucket."""
    env = {
        "STORAGE_BACKEND": backend,
        "DATA_DIR": str(tmp_path / "data"),
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "LOCAL_STORAGE_FSYNC": "false",
        # A final chunk's answer waits for its master (as on a quiet server), so tests can read the
        # end state at once; tests/test_finalize_queue.py runs the default, which never waits.
        "FINALIZE_WAIT_MS": "30000",
    }
    bucket = f"rec-{secrets.token_hex(4)}"
    if backend == "minio":
        assert endpoint
        env |= {
            "MINIO_ENDPOINT": endpoint.removeprefix("http://"),
            "MINIO_ACCESS_KEY": "testing",
            "MINIO_SECRET_KEY": "testing",
            "MINIO_BUCKET": bucket,
        }
    elif backend == "s3":
        assert endpoint
        s3_client(endpoint).create_bucket(Bucket=bucket)  # on s3 the bucket must exist already
        env |= {"S3_BUCKET": bucket, "S3_ENDPOINT": endpoint, **S3_KEYS}
    return env


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def split_backend(name: str) -> tuple[str, str]:
    """("minio", "s3rver") for "minio@s3rver"; S3 backends run on moto unless named otherwise."""
    backend, _, server = name.partition("@")
    return backend, server or "moto"


@pytest.fixture
def env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    kind, server = split_backend(backend)
    endpoint = request.getfixturevalue(f"{server}_endpoint") if kind != "local" else None
    return backend_env(kind, tmp_path, endpoint)


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@dataclass
class LiveServer:
    url: str
    settings: Settings
    thread: threading.Thread
    server: uvicorn.Server

    @property
    def routes(self) -> list[Any]:
        """The routes of the Litestar app (behind the /raw fast path)."""
        return list(self.server.config.app.inner.routes)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(settings: Settings, wait_ready: bool = True) -> LiveServer:
    """Run the real app under uvicorn in a thread, on a free loopback port (by default, once ready)."""
    port = free_port()
    box: dict[str, uvicorn.Server] = {}
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        async def serve() -> None:
            services = await build_services(settings)
            config = uvicorn.Config(
                create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
            )
            box["server"] = uvicorn.Server(config)
            ready.set()
            await box["server"].serve()

        try:
            asyncio.run(serve())
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(timeout=30)
    if failure:
        raise failure[0]
    wait_for_port(port)
    deadline = time.monotonic() + 30
    while wait_ready and httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("the server never became ready")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", settings, thread, box["server"])


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}, timeout=30) as client:
        yield client


def new_user_key(admin: httpx.Client, email: str | None = None) -> tuple[int, str]:
    email = email or f"user-{secrets.token_hex(4)}@example.com"
    user = admin.post("/admin/users", json={"email": email, "name": "Test User"}).json()
    token = admin.post(f"/admin/users/{user['id']}/tokens").json()
    return int(user["id"]), str(token["token"])


@pytest.fixture
def api(server: LiveServer, admin: httpx.Client) -> Iterator[httpx.Client]:
    """A client signed in as a fresh user."""
    _, key = new_user_key(admin)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as client:
        yield client


@pytest.fixture
def other_api(server: LiveServer, admin: httpx.Client) -> Iterator[httpx.Client]:
    """A second user, for checking that users can't see each other's recordings."""
    _, key = new_user_key(admin)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as client:
        yield client


VEXA_ADMIN_TOKEN = "vexa-admin-token-for-meeting-tokens"  # Vexa's ADMIN_TOKEN: signs MeetingTokens
VEXA_INTERNAL = "vexa-internal-secret"  # Vexa's INTERNAL_API_SECRET


@pytest.fixture
def vexa(settings: Settings) -> Iterator[LiveServer]:
    """Lite configured as a Vexa deployment configures its recording storage."""
    live = start_server(
        dataclasses.replace(
            settings, meeting_token_secret=VEXA_ADMIN_TOKEN, internal_api_secret=VEXA_INTERNAL
        )
    )
    yield live
    live.stop()


@pytest.fixture
def client(vexa: LiveServer) -> Iterator[httpx.Client]:
    """A client of the Vexa-configured server, with no credentials of its own (a bot's)."""
    with httpx.Client(base_url=vexa.url, timeout=30) as http:
        yield http


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
