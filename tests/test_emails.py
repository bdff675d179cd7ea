"""Emails name one person whatever their case, and an existing user can be given a new key from the
command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lite.catalog.records import User
from lite.config import load_settings
from lite.errors import Conflict
from lite.services import build_services
from tests.conftest import backend_env
from tests.procserver import ROOT


def test_an_email_is_stored_in_lower_case(admin: httpx.Client) -> None:
    user = admin.post("/admin/users", json={"email": "  Ada.Lovelace@Example.ORG "}).json()
    assert user["email"] == "ada.lovelace@example.org"


def test_the_same_email_in_another_case_is_the_same_user(admin: httpx.Client) -> None:
    assert admin.post("/admin/users", json={"email": "grace@example.com"}).status_code == 201
    again = admin.post("/admin/users", json={"email": "GRACE@example.COM"})
    assert again.status_code == 200, again.text  # found, not created again
    assert again.json()["email"] == "grace@example.com"


@pytest.mark.anyio
async def test_a_user_stored_with_capitals_before_the_rule_still_blocks_a_duplicate(tmp_path: Path) -> None:
    services = await build_services(load_settings(backend_env("local", tmp_path, None)))
    try:
        services.index.insert_user(User(id=7, email="Old@Example.com", name=None, created_at="x"))
        with pytest.raises(Conflict):
            await services.auth.create_user("old@example.com", None)
        assert (await services.auth.user_by_email("OLD@example.com")).id == 7
    finally:
        await services.aclose()


@pytest.mark.anyio
async def test_issue_key_prints_a_new_working_key_for_an_existing_user(tmp_path: Path) -> None:
    env = backend_env("local", tmp_path, None)
    services = await build_services(load_settings(env))
    try:
        user = await services.auth.create_user("keys@example.com", None)
        first = await services.auth.create_key(user.id)
        command = [sys.executable, "-m", "lite", "issue-key", "KEYS@example.com"]
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        new_key = done.stdout.strip()
        assert new_key != first.token
        assert await services.auth.user_for_key(new_key) == user.id
        assert await services.auth.user_for_key(first.token) == user.id  # the old one still works
    finally:
        await services.aclose()


def test_issue_key_for_an_unknown_email_says_so(tmp_path: Path) -> None:
    env = backend_env("local", tmp_path, None)
    command = [sys.executable, "-m", "lite", "issue-key", "nobody@example.com"]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 1
    assert "no user has the email 'nobody@example.com'" in done.stderr
