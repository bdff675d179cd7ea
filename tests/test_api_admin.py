"""The admin API: users and API keys."""

from __future__ import annotations

import stat

import httpx
import pytest

from lite.accounts.auth import ensure_admin_token
from tests.conftest import LiveServer, new_user_key


@pytest.fixture
def backend() -> str:
    return "local"  # the admin API does not touch storage


def test_creating_a_user_answers_201_with_its_fields(admin: httpx.Client) -> None:
    answer = admin.post("/admin/users", json={"email": "ada@example.com", "name": "Ada"})
    assert answer.status_code == 201
    user = answer.json()
    assert set(user) == {"id", "email", "name", "image_url", "max_concurrent_bots", "data", "created_at"}
    assert (user["email"], user["name"]) == ("ada@example.com", "Ada")
    assert user in admin.get("/admin/users").json()


def test_an_existing_email_answers_200_with_the_existing_user(admin: httpx.Client) -> None:
    first = admin.post("/admin/users", json={"email": "ada@example.com"}).json()
    answer = admin.post("/admin/users", json={"email": "ada@example.com", "name": "Someone else"})
    assert answer.status_code == 200  # find-or-create, as Vexa's dashboard login expects
    assert answer.json() == first


@pytest.mark.parametrize("body", [{"email": "no-at-sign"}, {"name": "x"}, {"email": 5}])
def test_a_bad_user_is_refused_with_a_detail(admin: httpx.Client, body: dict[str, object]) -> None:
    answer = admin.post("/admin/users", json=body)
    assert answer.status_code in (400, 422)
    assert answer.json()["detail"]


def test_a_token_is_shown_once_and_works(admin: httpx.Client, server: LiveServer) -> None:
    user = admin.post("/admin/users", json={"email": "bo@example.com"}).json()
    answer = admin.post(f"/admin/users/{user['id']}/tokens")
    assert answer.status_code == 201
    token = answer.json()
    assert set(token) == {"id", "token", "user_id", "scopes", "name", "created_at", "last_used_at",
                          "expires_at"}  # fmt: skip
    assert token["token"].startswith("lite_") and token["scopes"] == []  # legacy: full access
    assert token["user_id"] == user["id"]
    assert httpx.get(f"{server.url}/recordings", headers={"X-API-Key": token["token"]}).status_code == 200
    assert token["token"] not in str(admin.get("/admin/users").json())


def test_a_revoked_token_stops_working_at_once(admin: httpx.Client, server: LiveServer) -> None:
    user = admin.post("/admin/users", json={"email": "cy@example.com"}).json()
    token = admin.post(f"/admin/users/{user['id']}/tokens").json()
    assert admin.delete(f"/admin/tokens/{token['id']}").status_code == 204
    answer = httpx.get(f"{server.url}/recordings", headers={"X-API-Key": token["token"]})
    assert answer.status_code == 401
    assert admin.delete(f"/admin/tokens/{token['id']}").status_code == 404


def test_a_token_for_an_unknown_user_is_404(admin: httpx.Client) -> None:
    assert admin.post("/admin/users/12345/tokens").status_code == 404


@pytest.mark.parametrize("key", [None, "wrong", ""])
def test_the_admin_api_needs_the_admin_key(server: LiveServer, key: str | None) -> None:
    headers = {} if key is None else {"X-Admin-API-Key": key}
    answer = httpx.get(f"{server.url}/admin/users", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["detail"]


def test_a_user_key_is_not_an_admin_key(admin: httpx.Client, server: LiveServer) -> None:
    _, key = new_user_key(admin)
    assert httpx.get(f"{server.url}/admin/users", headers={"X-Admin-API-Key": key}).status_code == 401


def test_keys_are_stored_hashed(admin: httpx.Client, server: LiveServer) -> None:
    _, key = new_user_key(admin)
    assert key.encode() not in server.settings.index_path.read_bytes()
    wal = server.settings.index_path.with_name("lite.db-wal")
    assert not wal.exists() or key.encode() not in wal.read_bytes()


def test_without_admin_token_one_is_generated_into_a_private_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    token = ensure_admin_token(None, tmp_path)
    path = tmp_path / "admin-token"
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_admin_token(None, tmp_path) == token  # kept across restarts
