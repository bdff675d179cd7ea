"""No secret ever reaches a log, even at LOG_LEVEL=debug: API keys (right and wrong ones), the admin
token (configured or generated), the webhook secret, the playback signing key and playback tokens,
the object store's secret key, and the signatures of presigned URLs.

A representative workload runs against the server as users run it (`python app.py`, its stdout and
stderr captured) and against the app in this process (every logger captured at DEBUG by caplog), on
the local and the minio backend; then every secret used is searched for in what was logged.
"""

from __future__ import annotations

import http.server
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lite.config import load_settings
from lite.http.server import QUIET_LIBRARIES, quiet_libraries
from tests.conftest import backend_env, start_server
from tests.faultkit import random_wav, wait_until
from tests.procserver import ServerProcess
from tests.test_bot_upload import UPLOAD


@dataclass
class Secrets:
    values: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str | None) -> None:
        assert value, name
        self.values[f"{name} #{len(self.values)}"] = value

    def found_in(self, text: str) -> list[str]:
        return [name for name, value in self.values.items() if value in text]


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/hook"
    httpd.shutdown()


def _env(backend: str, tmp_path: Path, moto: str | None, webhook: str, found: Secrets) -> dict[str, str]:
    env = backend_env(backend, tmp_path, moto)
    env |= {
        "ADMIN_API_TOKEN": "admin-" + secrets.token_hex(16),
        "WEBHOOK_URL": webhook,
        "WEBHOOK_SECRET": "hook-" + secrets.token_hex(16),
        "PLAYBACK_SIGNING_KEY": "sign-" + secrets.token_hex(16),
        "LOG_LEVEL": "debug",
    }
    if backend == "minio":
        env["MINIO_SECRET_KEY"] = "minio-" + secrets.token_hex(16)
        found.add("MINIO_SECRET_KEY", env["MINIO_SECRET_KEY"])
    for name in ("ADMIN_API_TOKEN", "WEBHOOK_SECRET", "PLAYBACK_SIGNING_KEY"):
        found.add(name, env[name])
    return env


def _workload(url: str, admin_token: str, found: Secrets) -> None:
    """Users and keys, uploads, downloads (presigned and tokened), raw reads, a finished bot
    recording (its webhook is sent), failed authentication of every kind, a revoked key."""
    admin = httpx.Client(base_url=url, headers={"X-Admin-API-Key": admin_token}, timeout=30)
    keys = []
    for n in range(2):
        user = admin.post("/admin/users", json={"email": f"secret-{n}-{time.time_ns()}@example.com"}).json()
        token = admin.post(f"/admin/users/{user['id']}/tokens").json()
        found.add("API key", token["token"])
        keys.append(token)
    api = httpx.Client(base_url=url, headers={"X-API-Key": keys[0]["token"]}, timeout=30)
    recording = api.post("/recordings", files={"file": ("a.wav", random_wav(30_000))}).json()
    rid, mid = recording["id"], recording["media_files"][0]["id"]
    link = api.get(f"/recordings/{rid}/media/{mid}/download").json()
    if "X-Amz-Signature" in link["url"]:
        found.add("presigned URL signature", parse_qs(urlsplit(link["url"]).query)["X-Amz-Signature"][0])
        assert httpx.get(link["url"]).status_code == 200
    found.add("playback token", parse_qs(urlsplit(link["raw_url"]).query)["token"][0])
    assert httpx.get(f"{url}{link['raw_url']}", headers={"Range": "bytes=0-99"}).status_code == 206
    assert api.get(f"/recordings/{rid}/media/{mid}/raw").status_code == 200
    token = parse_qs(urlsplit(link["raw_url"]).query)["token"][0]
    raw = f"{url}/recordings/{rid}/media/{mid}/raw"
    for query in (f"%74oken={token}", f"TOKEN={token}", f"token=x&token={token}", f"%54%6F%6B%65%6E={token}"):
        httpx.get(f"{raw}?{query}", headers={"Referer": f"{raw}?token={token}", "Range": "bytes=0-9"})
    bearer = httpx.get(f"{url}/recordings", headers={"Authorization": f"Bearer {keys[1]['token']}"})
    assert bearer.status_code == 200
    for seq in range(2):
        meta = {"session_uid": "secret-bot", "format": "wav", "chunk_seq": seq, "is_final": seq == 1}
        chunk = api.post(
            UPLOAD, files={"file": ("c.wav", random_wav(8000))}, data={"metadata": json.dumps(meta)}
        )
        assert chunk.status_code == 201, chunk.text
    for header in ("X-API-Key", "Authorization"):
        wrong = "lite_" + secrets.token_urlsafe(32)
        found.add("wrong API key", wrong)
        value = f"Bearer {wrong}" if header == "Authorization" else wrong
        assert httpx.get(f"{url}/recordings", headers={header: value}).status_code == 401
    wrong_admin = "admin-" + secrets.token_hex(16)
    found.add("wrong admin token", wrong_admin)
    assert httpx.get(f"{url}/admin/users", headers={"X-Admin-API-Key": wrong_admin}).status_code == 401
    issued = found.values[next(k for k in found.values if k.startswith("playback token"))]
    # One character inside changed (not the last ones: the token may end in "AA" already, and a last
    # character's unused bits decode to the same bytes).
    tampered = issued[:10] + ("B" if issued[10] == "A" else "A") + issued[11:]
    found.add("tampered playback token", tampered)
    assert httpx.get(f"{url}/recordings/{rid}/media/{mid}/raw", params={"token": tampered}).status_code == 403
    assert admin.delete(f"/admin/tokens/{keys[1]['id']}").status_code == 204
    assert httpx.get(f"{url}/recordings", headers={"X-API-Key": keys[1]["token"]}).status_code == 401
    time.sleep(1.5)  # the webhook goes out in the background


@pytest.fixture(params=["local", "minio"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_server_process_logs_no_secret_at_debug(
    backend_name: str, tmp_path: Path, webhook: str, request: pytest.FixtureRequest
) -> None:
    moto = request.getfixturevalue("moto_endpoint") if backend_name != "local" else None
    found = Secrets()
    env = _env(backend_name, tmp_path, moto, webhook, found)
    log = tmp_path / "server.log"
    server = ServerProcess(env, log)
    try:
        server.start()
        _workload(server.url, env["ADMIN_API_TOKEN"], found)
    finally:
        server.stop()
    text = log.read_text(errors="replace")
    assert " DEBUG " in text and "GET /recordings" in text  # debug lines and access lines were captured
    assert found.found_in(text) == []


def test_a_generated_admin_token_is_never_logged(tmp_path: Path, webhook: str) -> None:
    found = Secrets()
    env = _env("local", tmp_path, None, webhook, found)
    del env["ADMIN_API_TOKEN"]
    log = tmp_path / "server.log"
    server = ServerProcess(env, log)
    try:
        server.start()
        token_file = Path(env["DATA_DIR"]) / "admin-token"
        assert wait_until(token_file.exists, timeout=5)
        admin_token = token_file.read_text().strip()
        found.add("generated ADMIN_API_TOKEN", admin_token)
        _workload(server.url, admin_token, found)
    finally:
        server.stop()
    text = log.read_text(errors="replace")
    assert "admin-token" in text  # where it is, is logged
    assert found.found_in(text) == []


def test_the_app_logs_no_secret_to_any_logger_at_debug(
    backend_name: str,
    tmp_path: Path,
    webhook: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    moto = request.getfixturevalue("moto_endpoint") if backend_name != "local" else None
    found = Secrets()
    env = _env(backend_name, tmp_path, moto, webhook, found)
    caplog.set_level(logging.DEBUG)
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    quiet_libraries()  # the logging set-up `python app.py` does (lite.http.server.main)
    live = start_server(load_settings(env))
    try:
        _workload(live.url, env["ADMIN_API_TOKEN"], found)
    finally:
        live.stop()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    # The server runs in other threads; the test's own HTTP client logs in this one.
    records = [r for r in caplog.records if r.thread != threading.main_thread().ident]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert any(r.levelno == logging.DEBUG for r in records)
    assert found.found_in(text) == []
