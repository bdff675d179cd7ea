"""Helpers shared by the verify and migrate tests: a store of three recordings, uploads, the CLI.

A test module registers the fixtures by importing them: ``fixture_store`` (one user's three
recordings, uploaded through the service layer) and, where each case should run on local and on S3
(moto) only, ``fixture_backend``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from lite.accounts.bot_auth import BotIdentity
from lite.catalog.findings import Report
from lite.catalog.layout import manifest_key
from lite.catalog.verify import Verifier
from lite.config import Settings
from lite.http.multipart import FilePart
from lite.services import Services, build_services
from lite.storage import Storage
from tests.mediakit import wav_bytes
from tests.procserver import ROOT

WAV = wav_bytes(1.0)  # 32 KB


def variant(n: int) -> bytes:
    """A distinct, valid WAV per recording, without synthesizing audio for each."""
    data = bytearray(WAV)
    data[44:52] = n.to_bytes(8, "little")
    return bytes(data)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _form(data: bytes, **fields: str) -> AsyncIterator[tuple[str, str | FilePart]]:
    for name, value in fields.items():
        yield name, value
    yield "file", FilePart("a.wav", _once(data))


async def upload(services: Services, user_id: int, data: bytes) -> dict[str, Any]:
    # A stated duration skips probing: hundreds of recordings are made in well under a second.
    return await services.recordings.upload(user_id, _form(data, duration_seconds="1.0"))


async def send_chunk(
    services: Services, user_id: int, data: bytes, session: str, seq: int, final: bool
) -> None:
    meta = {"session_uid": session, "format": "wav", "chunk_seq": seq, "is_final": final}
    await services.bot_uploads.upload_chunk(BotIdentity(user_id), _form(data, metadata=json.dumps(meta)))


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lite", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(name="backend", params=["local", "s3"])
def fixture_backend(request: pytest.FixtureRequest) -> str:
    """Each case runs on local and on S3 (moto)."""
    return str(request.param)


@dataclass
class Store:
    services: Services
    user_id: int
    recordings: list[dict[str, Any]]

    @property
    def storage(self) -> Storage:
        return self.services.storage

    def media_key(self, n: int = 0) -> str:
        media = self.services.index.media_for([self.recordings[n]["id"]])
        return media[0].storage_key

    def manifest_key(self, n: int = 0) -> str:
        return manifest_key(self.user_id, self.recordings[n]["id"])

    async def verify(self, repair: bool = False, checksums: bool = True, grace: float = 0) -> Report:
        verifier = Verifier(self.storage, self.services.index, checksums=checksums, grace_seconds=grace)
        return await verifier.run(repair=repair)

    async def exists(self, key: str) -> bool:
        return key in [info.key async for info in self.storage.list(key)]


@pytest.fixture(name="store")
async def fixture_store(settings: Settings) -> AsyncIterator[Store]:
    """One user's three recordings on the test's backend, uploaded through the service layer."""
    services = await build_services(settings)
    user = await services.auth.create_user("owner@example.com", None)
    recordings = [await upload(services, user.id, variant(n)) for n in range(3)]
    yield Store(services, user.id, recordings)
    await services.aclose()


def kinds(report: Report) -> list[tuple[str, str]]:
    return [(finding.kind, finding.key) for finding in report.findings]


def corrupted(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 0x01]) + data[101:]
