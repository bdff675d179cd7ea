"""A start-up that cannot be partial: corrupt catalog files are moved aside (named in the log and in
/readyz), a rebuild that fails keeps the server not ready until it succeeds, a corrupt secret file
stops the start naming it, and what the server writes is private to it."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from lite import background
from lite.catalog.manifests import Catalog
from lite.config import ConfigError, Settings
from lite.services import build_services
from tests.conftest import ADMIN_TOKEN, LiveServer, backend_env, start_server
from tests.faultkit import random_wav, wait_until
from tests.procserver import ServerProcess

BAD_USER = "users/4242.json"
BAD_KEY = "api-keys/" + "0" * 64 + ".json"


async def _catalog_with_damage(settings: Settings) -> str:
    """A user with a key, then a corrupt user file and a corrupt key file; the index is removed, so
    the next start rebuilds it from storage. Returns the good user's key."""
    services = await build_services(settings)
    try:
        user = await services.auth.create_user("kept@example.com", None)
        key = (await services.auth.create_key(user.id)).token
        await services.storage.put_bytes(BAD_USER, b'{"id": 4242, "email": "half@exa')
        await services.storage.put_bytes(BAD_KEY, b"\x00\xff not json")
    finally:
        await services.aclose()
    for path in settings.data_dir.glob("lite.db*"):
        path.unlink()
    return key


@pytest.fixture
def damaged(settings: Settings) -> Iterator[tuple[LiveServer, str]]:
    key = anyio.run(_catalog_with_damage, settings)
    live = start_server(settings)
    yield live, key
    live.stop()


def test_corrupt_user_and_key_files_are_moved_aside_and_named_in_readyz(
    damaged: tuple[LiveServer, str],
) -> None:
    live, _ = damaged
    ready = httpx.get(f"{live.url}/readyz")
    assert ready.status_code == 200
    assert sorted(ready.json()["quarantined"]["files"]) == sorted([BAD_KEY, BAD_USER])


def test_the_moved_files_keep_their_bytes_under_quarantine(damaged: tuple[LiveServer, str]) -> None:
    live, _ = damaged

    async def read(key: str) -> bytes:
        services = await build_services(live.settings)
        try:
            return await services.storage.read_bytes(key)
        finally:
            await services.aclose()

    assert anyio.run(read, f"quarantine/{BAD_KEY}") == b"\x00\xff not json"


def test_everyone_else_still_signs_in_after_the_rebuild(damaged: tuple[LiveServer, str]) -> None:
    live, key = damaged
    assert httpx.get(f"{live.url}/recordings", headers={"X-API-Key": key}).status_code == 200


def test_a_rebuild_that_crashes_keeps_the_server_not_ready_until_it_succeeds(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = iter([RuntimeError("disk on fire")])
    real = Catalog.rebuild

    async def flaky(self: Catalog, progress: object) -> None:
        for failure in failures:
            raise failure
        await real(self, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(Catalog, "rebuild", flaky)
    monkeypatch.setattr(background, "REBUILD_RETRY_SECONDS", 1.5)
    live = start_server(settings, wait_ready=False)
    try:
        failing = wait_until(lambda: "disk on fire" in _readyz(live.url).text, 10)
        assert failing, "the failure never showed in /readyz"
        assert _readyz(live.url).status_code == 503
        users = httpx.get(f"{live.url}/admin/users", headers={"X-Admin-API-Key": ADMIN_TOKEN})
        assert users.status_code == 503  # a partial index serves nobody
        assert wait_until(lambda: _readyz(live.url).status_code == 200, 15)
    finally:
        live.stop()


def _readyz(url: str) -> httpx.Response:
    return httpx.get(f"{url}/readyz", timeout=5)


def test_a_corrupt_secret_file_stops_the_start_naming_it(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "playback-signing-key").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="playback-signing-key"):
        anyio.run(build_services, dataclasses.replace(settings, playback_signing_key=None))


def test_what_the_server_writes_is_readable_by_it_alone(tmp_path: Path) -> None:
    env = backend_env("local", tmp_path, None) | {"ADMIN_API_TOKEN": ""}
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": token}) as admin:
            user = admin.post("/admin/users", json={"email": "modes@example.com"}).json()
            key = admin.post(f"/admin/users/{user['id']}/tokens").json()["token"]
        stored = httpx.post(f"{server.url}/recordings", headers={"X-API-Key": key},
                            files={"file": ("a.wav", random_wav(8000))})  # fmt: skip
        assert stored.status_code == 201, stored.text
    finally:
        server.stop()
    data = tmp_path / "data"
    everything = [data, *data.rglob("*")]
    assert [p for p in everything if stat.S_IMODE(p.stat().st_mode) & 0o077] == []
    assert any(p.name.endswith(".wav") for p in everything)
