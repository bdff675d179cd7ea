"""Vexa's admin API (v0.10.7) as its dashboard and admin tools call it: find-or-create login, users
with `data`, scoped and expiring tokens, the keys page, per-user webhooks; on every backend, and
across replicas on one bucket."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from lite.catalog.quarantine import parse_api_key, parse_user
from tests.conftest import ADMIN_TOKEN, LiveServer
from tests.mediakit import wav_bytes
from tests.procserver import ServerProcess
from tests.test_api_recordings import upload
from tests.test_bot_upload import send_chunk
from tests.test_stateless import forget_everything_but_storage

PUBLIC_HOOK = "https://93.184.215.14/hooks/lite"  # a global address: no DNS needed to check it


def login(admin: httpx.Client, email: str) -> tuple[httpx.Response, httpx.Response, str]:
    """The dashboard's sign-in (v0.10.7 src/lib/vexa-admin-api.ts): look up, create on 404, token."""
    found = admin.get(f"/admin/users/email/{quote(email, safe='')}")
    if found.status_code == 404:
        found = admin.post("/admin/users", json={"email": email, "name": "Ada", "max_concurrent_bots": 3})
    token = admin.post(f"/admin/users/{found.json()['id']}/tokens", params={"scopes": "bot,tx,browser"})
    assert token.status_code == 201, token.text
    return found, token, token.json()["token"]


def key_for(admin: httpx.Client, user_id: int, **params: object) -> str:
    answer = admin.post(f"/admin/users/{user_id}/tokens", params=params)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


@pytest.fixture
def user(admin: httpx.Client) -> dict[str, object]:
    return dict(admin.post("/admin/users", json={"email": "ada@example.com"}).json())


def as_user(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30)


def test_the_dashboard_login_creates_the_user_then_its_token_lists_recordings(
    admin: httpx.Client, server: LiveServer
) -> None:
    found, token, key = login(admin, "ada+dash@example.com")
    assert found.status_code == 201
    assert found.json()["max_concurrent_bots"] == 3
    assert re.fullmatch(r"vxa_bot_[A-Za-z0-9]{32}", key)
    assert token.json()["scopes"] == ["bot", "tx", "browser"]
    answer = httpx.get(f"{server.url}/recordings", headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text


def test_the_second_dashboard_login_finds_the_same_user(admin: httpx.Client) -> None:
    first, _, _ = login(admin, "Ada+dash@Example.com")
    again = admin.post("/admin/users", json={"email": "ada+dash@example.com", "max_concurrent_bots": 3})
    assert again.status_code == 200
    assert again.json() == first.json()
    found = admin.get(f"/admin/users/email/{quote('ada+dash@example.com', safe='')}")
    assert (found.status_code, found.json()) == (200, first.json())


def test_an_unknown_email_or_id_is_404_user_not_found(admin: httpx.Client) -> None:
    for answer in (
        admin.get("/admin/users/email/nobody%40example.com"),
        admin.get("/admin/users/123456"),
        admin.patch("/admin/users/123456", json={"name": "x"}),
        admin.get("/admin/users/123456/tokens"),
        admin.post("/admin/users/123456/tokens", params={"scopes": "tx"}),
    ):
        assert (answer.status_code, answer.json()["detail"]) == (404, "User not found")


def test_users_are_listed_as_a_json_array_with_skip_and_limit(admin: httpx.Client) -> None:
    ids = [admin.post("/admin/users", json={"email": f"u{i}@example.com"}).json()["id"] for i in range(3)]
    assert [u["id"] for u in admin.get("/admin/users").json()] == ids
    assert [u["id"] for u in admin.get("/admin/users", params={"skip": 1, "limit": 1}).json()] == ids[1:2]


def test_the_keys_page_lists_tokens_without_secrets_and_revokes_them(
    admin: httpx.Client, server: LiveServer, user: dict[str, object]
) -> None:
    key = key_for(admin, user["id"], scopes="tx", name="laptop")
    httpx.get(f"{server.url}/recordings", headers={"X-API-Key": key})
    profile = admin.get(f"/admin/users/{user['id']}").json()
    [listed] = profile["api_tokens"]
    assert set(listed) == {
        "id",
        "token",
        "user_id",
        "scopes",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
    }
    assert (listed["token"], listed["scopes"], listed["name"]) == ("vxa_tx_********", ["tx"], "laptop")
    assert listed["last_used_at"] and listed["expires_at"] is None
    assert key not in json.dumps(profile) and key not in admin.get(f"/admin/users/{user['id']}/tokens").text
    assert "token" not in admin.get(f"/admin/users/{user['id']}/tokens").json()[0]
    assert admin.delete(f"/admin/tokens/{listed['id']}").status_code == 204
    assert httpx.get(f"{server.url}/recordings", headers={"X-API-Key": key}).status_code == 401
    gone = admin.delete(f"/admin/tokens/{listed['id']}")
    assert (gone.status_code, gone.json()["detail"]) == (404, "Token not found")
    assert admin.get(f"/admin/users/{user['id']}").json()["api_tokens"] == []


@pytest.mark.parametrize(
    ("params", "body", "prefix", "scopes"),
    [
        ({"scope": "tx"}, None, "vxa_tx_", ["tx"]),
        ({"scopes": "browser,tx"}, None, "vxa_browser_", ["browser", "tx"]),
        ({}, {"scopes": ["bot"], "name": "ci", "expires_in": 3600}, "vxa_bot_", ["bot"]),
        ({}, None, "lite_", []),  # no scopes at all: Lite's legacy full-access key
    ],
)
def test_tokens_take_scopes_from_the_query_or_a_json_body(
    admin: httpx.Client, user: dict[str, object], params: dict, body: dict | None, prefix: str, scopes: list
) -> None:
    answer = admin.post(f"/admin/users/{user['id']}/tokens", params=params, json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["token"].startswith(prefix)
    assert answer.json()["scopes"] == scopes


@pytest.mark.parametrize("params", [{"scopes": "bot,admin"}, {"scope": "root"}, {"scopes": ""}])
def test_an_invalid_scope_is_422(admin: httpx.Client, user: dict[str, object], params: dict) -> None:
    answer = admin.post(f"/admin/users/{user['id']}/tokens", params=params)
    assert answer.status_code == 422
    assert "scope" in answer.json()["detail"]


def test_a_bot_key_uploads_but_cannot_read(admin: httpx.Client, server: LiveServer, user: dict) -> None:
    with as_user(server, key_for(admin, user["id"], scopes="bot")) as bot:
        made = upload(bot, wav_bytes(0.3))
        assert made.status_code == 201, made.text
        assert send_chunk(bot, wav_bytes(0.3), 0, session="s1").status_code == 201
        one = f"/recordings/{made.json()['id']}"
        for method, path in (("GET", "/recordings"), ("GET", one), ("DELETE", one), ("GET", "/user/webhook")):
            answer = bot.request(method, path)
            assert answer.status_code == 403, (path, answer.text)
            assert "tx or browser" in answer.json()["detail"] or "browser or tx" in answer.json()["detail"]
    with as_user(server, key_for(admin, user["id"], scopes="tx")) as reader:
        assert reader.get("/recordings").json()["total"] == 2


def test_an_expired_key_is_refused(admin: httpx.Client, server: LiveServer, user: dict) -> None:
    answer = admin.post(f"/admin/users/{user['id']}/tokens", params={"scopes": "tx", "expires_in": 1})
    assert answer.json()["expires_at"]
    key = answer.json()["token"]
    assert httpx.get(f"{server.url}/recordings", headers={"X-API-Key": key}).status_code == 200
    time.sleep(1.1)
    for path in ("/recordings", "/user/webhook"):
        refused = httpx.get(f"{server.url}{path}", headers={"X-API-Key": key})
        assert (refused.status_code, refused.json()["detail"]) == (401, "the API key has expired")
    assert send_chunk(as_user(server, key), wav_bytes(0.2), 0).status_code == 401


def test_patch_replaces_fields_and_merges_data(admin: httpx.Client, user: dict) -> None:
    path = f"/admin/users/{user['id']}"
    admin.patch(path, json={"data": {"plan": "pro", "seats": 2}})
    answer = admin.patch(
        path, json={"name": "Ada L", "max_concurrent_bots": 0, "data": {"seats": None, "x": 1}}
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert (changed["name"], changed["max_concurrent_bots"]) == ("Ada L", 0)
    assert changed["data"] == {"plan": "pro", "x": 1}  # merged; a null removes its key
    assert admin.get(path).json()["data"] == {"plan": "pro", "x": 1}
    assert admin.patch(path, json={"email": "ada@example.com"}).status_code == 200  # unchanged
    assert admin.patch(path, json={"email": "eve@example.com"}).status_code == 400
    assert admin.patch(path, json={"max_concurrent_bots": -1}).status_code == 422


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://localhost:9/"]
)
def test_a_webhook_at_a_private_address_is_refused_both_ways(
    admin: httpx.Client, server: LiveServer, user: dict, url: str
) -> None:
    assert admin.patch(f"/admin/users/{user['id']}", json={"data": {"webhook_url": url}}).status_code == 422
    with as_user(server, key_for(admin, user["id"])) as client:
        assert client.put("/user/webhook", json={"webhook_url": url}).status_code == 422
        assert client.get("/user/webhook").json()["webhook_url"] is None


def test_a_user_sets_reads_and_clears_its_webhook(
    admin: httpx.Client, server: LiveServer, user: dict
) -> None:
    secret = "whsec_0123456789abcd"
    with as_user(server, key_for(admin, user["id"], scopes="bot,tx,browser")) as client:
        events = {"recording.completed": True, "meeting.started": False}
        hook = {"webhook_url": PUBLIC_HOOK, "webhook_secret": secret, "webhook_events": events}
        answer = client.put("/user/webhook", json=hook)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == {"webhook_url": PUBLIC_HOOK, "webhook_events": events}
        shown = client.get("/user/webhook").json()
        assert shown == {"webhook_url": PUBLIC_HOOK, "webhook_secret_set": True,
                         "webhook_secret": "********abcd", "webhook_events": events}  # fmt: skip
        assert secret not in admin.get(f"/admin/users/{user['id']}").text
        assert client.put("/user/webhook", json={"webhook_url": ""}).status_code == 200
        assert client.get("/user/webhook").json()["webhook_url"] is None


def test_the_dashboard_saves_a_webhook_through_patch_data(admin: httpx.Client, user: dict) -> None:
    data = {"webhook_url": PUBLIC_HOOK, "webhook_secret": "s3cr3t-s3cr3t-s3cr3t"}
    answer = admin.patch(f"/admin/users/{user['id']}", json={"data": data})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"webhook_url": PUBLIC_HOOK}  # the secret is kept, never shown


def test_catalog_files_from_before_these_fields_still_parse() -> None:
    user = parse_user(b'{"id": 5, "email": "a@x.io", "name": null, "created_at": "t"}')
    assert (user.max_concurrent_bots, user.data, user.image_url) == (3, {}, None)
    key = parse_api_key(b'{"id": 6, "user_id": 5, "created_at": "t"}', "0" * 64)
    assert (key.scopes, key.name, key.expires_at) == ("", None, None)


@pytest.fixture
def replicas(env: dict[str, str], tmp_path: Path, backend: str) -> Iterator[list[ServerProcess]]:
    if backend == "local":
        pytest.skip("replicas share object storage")
    servers = [ServerProcess(env | {"DATA_DIR": str(tmp_path / f"r{i}")}, tmp_path / f"r{i}.log").start()
               for i in range(2)]  # fmt: skip
    yield servers
    for server in servers:
        server.stop()


def test_another_replica_sees_scopes_data_and_keys(replicas: list[ServerProcess]) -> None:
    one, two = (httpx.Client(base_url=s.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) for s in replicas)
    made = one.post("/admin/users", json={"email": "rep@example.com", "data": {"plan": "pro"}}).json()
    bot = key_for(one, made["id"], scopes="bot", name="bot-key")
    one.patch(f"/admin/users/{made['id']}", json={"max_concurrent_bots": 7, "data": {"seats": 4}})
    seen = two.get(f"/admin/users/{made['id']}").json()
    assert (seen["max_concurrent_bots"], seen["data"]) == (7, {"plan": "pro", "seats": 4})
    assert [(k["name"], k["scopes"]) for k in seen["api_tokens"]] == [("bot-key", ["bot"])]
    assert httpx.get(f"{replicas[1].url}/recordings", headers={"X-API-Key": bot}).status_code == 403
    assert two.post("/admin/users", json={"email": "rep@example.com"}).status_code == 200


def test_scopes_expiry_and_data_survive_an_index_rebuild(env: dict[str, str], tmp_path: Path) -> None:
    first = ServerProcess(env, tmp_path / "first.log").start()
    try:
        with httpx.Client(base_url=first.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            made = admin.post("/admin/users", json={"email": "kept@example.com", "image_url": "https://x/a.png",
                                                    "data": {"plan": "pro"}}).json()  # fmt: skip
            bot = key_for(admin, made["id"], scopes="bot", name="b", expires_in=86_400)
    finally:
        first.stop()
    forget_everything_but_storage(env)
    second = ServerProcess(env, tmp_path / "second.log").start()
    try:
        with httpx.Client(base_url=second.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            seen = admin.get(f"/admin/users/{made['id']}").json()
        assert (seen["image_url"], seen["data"]) == ("https://x/a.png", {"plan": "pro"})
        [key] = seen["api_tokens"]
        assert (key["scopes"], key["name"], bool(key["expires_at"])) == (["bot"], "b", True)
        assert httpx.get(f"{second.url}/recordings", headers={"X-API-Key": bot}).status_code == 403
    finally:
        second.stop()
