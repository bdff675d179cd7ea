"""Titles, server-side search and who is signed in, on the player page.

An upload from the page is titled after its file name; Rename turns the title into a text box that
saves with Enter or on leaving it (PATCH /recordings/{id}) and cancels with Escape, says a refused
title in words and keeps the new one after a reload; the search box asks the server
(GET /recordings?q=) once typing pauses and says when nothing matches; the top bar names the user's
email from GET /user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import new_user_key
from tests.mediakit import wav_bytes
from tests.playerkit import Page, upload

pytestmark = pytest.mark.browser

TITLES = "#recording-list .recording-title"


def titles(page: Page) -> list[str]:
    return list(page.pw.locator(TITLES).all_inner_texts())


def wait_titles(page: Page, expected: list[str]) -> None:
    page.wait(
        "(want) => JSON.stringify([...document.querySelectorAll('#recording-list .recording-title')]"
        ".map((h) => h.textContent)) === JSON.stringify(want)",
        expected,
    )


def test_an_upload_from_the_page_is_titled_after_the_file_name(
    page: Page, key: str, api_for: Any, tmp_path: Path
) -> None:
    path = tmp_path / "Team sync 2026-12-01.wav"
    path.write_bytes(wav_bytes(0.5))
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    page.pw.set_input_files("#upload-file", str(path))
    page.pw.wait_for_selector("text=Uploaded “Team sync 2026-12-01.wav”.")
    wait_titles(page, ["Team sync 2026-12-01"])
    assert api_for(key).get("/recordings").json()["recordings"][0]["title"] == "Team sync 2026-12-01"


def start_rename(page: Page) -> Any:
    page.pw.click("#recording-list .rename")
    field = page.pw.locator("#recording-list .recording-title-input")
    field.wait_for()
    return field


def test_rename_with_enter_persists_after_a_reload(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "old name.wav")
    page.sign_in(key)
    wait_titles(page, ["old name"])
    field = start_rename(page)
    assert field.input_value() == "old name"
    assert page.js("() => document.activeElement.classList.contains('recording-title-input')")
    field.fill("Quarterly review")
    with page.pw.expect_request(lambda r: r.method == "PATCH" and "/recordings/" in r.url) as patched:
        field.press("Enter")
    assert patched.value.post_data_json == {"title": "Quarterly review"}
    wait_titles(page, ["Quarterly review"])
    assert page.pw.locator("#recording-list .recording-title-input").count() == 0
    assert "Renamed" in page.pw.inner_text("#list-message")
    assert api_for(key).get("/recordings").json()["recordings"][0]["title"] == "Quarterly review"
    page.pw.reload()  # the key is kept for the tab: signed in again, from the server's list
    wait_titles(page, ["Quarterly review"])
    assert page.console_errors == []


def test_leaving_the_box_saves_and_escape_cancels(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "draft.wav")
    page.sign_in(key)
    wait_titles(page, ["draft"])
    patches: list[str] = []
    page.pw.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)

    field = start_rename(page)
    field.fill("not this")
    field.press("Escape")
    wait_titles(page, ["draft"])
    assert page.pw.locator("#recording-list .recording-title-input").count() == 0
    assert patches == []

    field = start_rename(page)
    field.fill("Saved on blur")
    page.pw.click("#recordings-title")  # somewhere else on the page
    wait_titles(page, ["Saved on blur"])
    assert len(patches) == 1
    assert api_for(key).get("/recordings").json()["recordings"][0]["title"] == "Saved on blur"


def test_a_refused_title_is_said_and_cleared_by_the_next_success(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "keep me.wav")
    page.sign_in(key)
    wait_titles(page, ["keep me"])
    field = start_rename(page)
    field.fill("   ")  # nothing left after trimming: the server answers 422
    with page.pw.expect_response(lambda r: r.request.method == "PATCH") as answer:
        field.press("Enter")
    assert answer.value.status == 422
    message = page.pw.wait_for_selector("#list-message.error:not([hidden])").inner_text()
    assert "Could not rename" in message and "1-200 characters" in message
    assert field.get_attribute("aria-invalid") == "true"  # still open, to be corrected
    field.fill("Kept, better")
    field.press("Enter")
    wait_titles(page, ["Kept, better"])
    assert page.pw.locator("#list-message.error").count() == 0
    assert api_for(key).get("/recordings").json()["recordings"][0]["title"] == "Kept, better"


def test_the_search_box_asks_the_server(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    upload(api, wav_bytes(0.3), "alpha standup.wav")
    upload(api, wav_bytes(0.3), "beta retro.wav")
    upload(api, wav_bytes(0.3), "gamma planning.wav", meeting_id="roadmap-7")
    page.sign_in(key)
    wait_titles(page, ["gamma planning", "beta retro", "alpha standup"])
    searches: list[str] = []
    page.pw.on("request", lambda r: searches.append(r.url) if "q=" in r.url else None)

    with page.pw.expect_request(lambda r: "/recordings?" in r.url and "q=retr" in r.url):
        page.pw.locator("#search").press_sequentially("retr", delay=20)  # a prefix of "retro"
    wait_titles(page, ["beta retro"])
    assert len(searches) == 1, searches  # typing is waited out: one question, not one per key

    with page.pw.expect_request(lambda r: "q=roadmap" in r.url):
        page.pw.fill("#search", "roadmap")  # the meeting id is searched too
    wait_titles(page, ["gamma planning"])

    with page.pw.expect_request(lambda r: "q=nothing-like-this" in r.url):
        page.pw.fill("#search", "nothing-like-this")
    message = page.pw.wait_for_selector("#list-message:not([hidden])")
    page.wait("() => document.querySelectorAll('#recording-list .recording').length === 0")
    assert "No recordings match" in message.inner_text()

    with page.pw.expect_request(lambda r: "/recordings?" in r.url and "q=" not in r.url):
        page.pw.fill("#search", "")  # an empty box: the whole list again
    wait_titles(page, ["gamma planning", "beta retro", "alpha standup"])
    assert page.pw.is_hidden("#list-message")


def test_the_signed_in_users_email_is_shown(page: Page, admin: httpx.Client) -> None:
    _, key = new_user_key(admin, email="ada@example.com")
    page.sign_in(key)
    page.pw.wait_for_selector("#who:has-text('ada@example.com')")
    who = page.pw.inner_text("#who")
    assert who == "Signed in as ada@example.com" and key not in who
    page.pw.click("#sign-out")
    page.pw.wait_for_selector("#who", state="hidden")
