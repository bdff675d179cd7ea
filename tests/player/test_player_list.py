"""The player page's sign-in, list and actions: what a user sees and can do with their recordings.

A wrong key is refused in words and not kept; a new user sees the empty state; an unreachable server
is said in words; signing out forgets the key; the list is newest first in pages of twenty;
uploading shows progress; delete asks first; download saves the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.mediakit import wav_bytes
from tests.playerkit import (
    Page,
    download_first,
    speechy_wav,
    upload,
)

pytestmark = pytest.mark.browser


def test_a_wrong_key_is_refused_in_words(page: Page) -> None:
    page.sign_in("lite_not-a-real-key")
    message = page.pw.wait_for_selector("#sign-in-message:not([hidden])")
    assert "not accepted" in message.inner_text()
    assert page.pw.is_hidden("#app")
    page.screenshot("sign-in-bad-key.png")
    assert page.js("() => sessionStorage.getItem('lite.apiKey')") is None


def test_a_new_user_sees_the_empty_state(page: Page, key: str) -> None:
    page.sign_in(key)
    message = page.pw.wait_for_selector("#list-message:not([hidden])")
    assert "No recordings yet" in message.inner_text()


def test_an_unreachable_server_is_said_in_words(page: Page, key: str) -> None:
    page.pw.goto(page.base_url + "/")
    page.pw.route("**/recordings?*", lambda route: route.abort("connectionrefused"))
    page.pw.fill("#api-key", key)
    page.pw.click("#sign-in-form button[type=submit]")
    message = page.pw.wait_for_selector("#sign-in-message:not([hidden])")
    assert "Cannot reach the server" in message.inner_text()


def test_sign_out_forgets_the_key(page: Page, key: str) -> None:
    page.sign_in(key)
    page.pw.wait_for_selector("#sign-out:not([hidden])").click()
    page.pw.wait_for_selector("#sign-in:not([hidden])")
    assert page.js("() => sessionStorage.getItem('lite.apiKey')") is None


def test_the_list_is_newest_first_with_pages_of_twenty(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    for i in range(21):
        upload(api, wav_bytes(0.2), f"m{i}.wav", meeting_id=f"m{i}")
    page.sign_in(key)
    page.pw.wait_for_selector("text=1\N{EN DASH}20 of 21")
    titles = page.pw.locator("#recording-list .recording-title").all_inner_texts()
    assert titles[0] == "m20" and len(titles) == 20  # an upload is titled after its file name
    page.pw.click("#older")
    page.pw.wait_for_selector("text=21\N{EN DASH}21 of 21")
    assert page.pw.locator("#recording-list .recording-title").all_inner_texts() == ["m0"]


def test_uploading_from_the_page_shows_progress_and_lists_it(page: Page, key: str, tmp_path: Path) -> None:
    path = tmp_path / "from-page.wav"
    path.write_bytes(speechy_wav(60.0))  # ~2 MB: several progress events
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    page.js(
        """() => {
      window.progressSeen = [];
      new MutationObserver(() => {
        const bar = document.querySelector('#upload-list progress');
        if (bar) window.progressSeen.push(bar.value);
      }).observe(document.querySelector('#upload-list'), {attributes: true, subtree: true, childList: true});
    }"""
    )
    page.pw.set_input_files("#upload-file", str(path))
    page.pw.wait_for_selector("text=Uploaded “from-page.wav”.")
    assert page.js("() => window.progressSeen")[-1] == 100
    # The message shows when the upload is acknowledged; the list reloads right after it.
    page.pw.wait_for_selector("#recording-list .recording")
    assert page.pw.locator("#recording-list .recording").count() == 1
    assert "1:00" in page.pw.inner_text("#recording-list .media-meta")


def test_delete_asks_first_and_keeps_the_recording_when_declined(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "keep.wav", meeting_id="keep")
    page.sign_in(key)
    page.pw.click("#recording-list .delete")
    page.pw.wait_for_selector("#confirm-delete[open]")
    page.pw.click("#confirm-delete >> text=Keep it")
    assert page.pw.locator("#recording-list .recording").count() == 1
    assert api_for(key).get("/recordings").json()["total"] == 1


def test_delete_confirmed_removes_the_recording(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "gone.wav", meeting_id="gone")
    page.sign_in(key)
    page.pw.click("#recording-list .delete")
    page.pw.click("#confirm-yes")
    page.pw.wait_for_selector("text=No recordings yet")
    assert api_for(key).get("/recordings").json()["total"] == 0


def test_download_saves_the_file(page: Page, key: str, api_for: Any) -> None:
    data = wav_bytes(0.5)
    upload(api_for(key), data, "take.wav", session_uid="take-1")
    page.sign_in(key)
    # named after the title (the file name's stem)
    assert download_first(page) == ("take.wav", data)
