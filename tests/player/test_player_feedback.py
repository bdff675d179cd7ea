"""What the page says while it works: loading, per-file upload progress with cancel, errors that go
away on the next success, the empty state, drag and drop onto the page, status badges, the signed-in
key when the user cannot be looked up, and delete's wording (search: test_player_titles.py).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.mediakit import wav_bytes
from tests.playerkit import Page, upload

pytestmark = pytest.mark.browser


def test_the_empty_state_tells_a_newcomer_how_to_upload(page: Page, key: str) -> None:
    page.sign_in(key)
    message = page.pw.wait_for_selector("#list-message:not([hidden])").inner_text()
    assert "No recordings yet" in message
    assert "drag and drop" in message.lower()
    assert "Choose files" in message


def test_the_signed_in_key_is_shown_masked_when_the_user_is_unknown(page: Page, key: str) -> None:
    page.pw.route("**/user", lambda route: route.fulfill(status=503, body="down"))
    page.sign_in(key)
    who = page.pw.wait_for_selector("#who:not([hidden])").inner_text()
    assert who.startswith("Signed in") and key[-4:] in who and key not in who
    page.pw.click("#sign-out")
    page.pw.wait_for_selector("#who", state="hidden")


def test_a_file_dropped_onto_the_page_is_uploaded(page: Page, key: str, api_for: Any) -> None:
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    data = base64.b64encode(wav_bytes(1.0)).decode()
    page.js(
        """(data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.wav', {type: 'audio/wav'}));
      const target = document.querySelector('#recordings');  // not the drop zone: anywhere on the page
      target.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true}));
      target.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
      target.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""",
        data,
    )
    page.pw.wait_for_selector("text=Uploaded “dropped.wav”.")
    assert page.pw.is_hidden("#drop-overlay")
    assert api_for(key).get("/recordings").json()["total"] == 1


def test_an_upload_can_be_cancelled(page: Page, key: str, api_for: Any, tmp_path: Path) -> None:
    path = tmp_path / "slow.wav"
    path.write_bytes(wav_bytes(2.0))
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    held: list[Any] = []
    # The server never answers this upload: it stays in flight until cancelled.
    page.pw.route(
        "**/recordings",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    page.pw.set_input_files("#upload-file", str(path))
    row = page.pw.wait_for_selector("#upload-list .upload-item")
    assert "slow.wav" in row.inner_text()
    page.pw.click("#upload-list .cancel")
    page.pw.wait_for_selector("text=Upload of “slow.wav” cancelled.")
    assert page.pw.locator("#upload-list .upload-item").count() == 0
    page.pw.unroute("**/recordings")
    assert api_for(key).get("/recordings").json()["total"] == 0
    # The next file goes up as usual.
    page.pw.set_input_files("#upload-file", str(path))
    page.pw.wait_for_selector("text=Uploaded “slow.wav”.")


def test_each_queued_file_has_its_own_progress_row(page: Page, key: str, tmp_path: Path) -> None:
    paths = []
    for name in ("one.wav", "two.wav", "three.wav"):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(wav_bytes(0.5))
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    page.pw.route(
        "**/recordings", lambda route: None if route.request.method == "POST" else route.continue_()
    )
    page.pw.set_input_files("#upload-file", [str(p) for p in paths])
    page.pw.wait_for_selector("#upload-list .upload-item >> nth=2")
    names = page.pw.locator("#upload-list .upload-name").all_inner_texts()
    assert names == ["one.wav", "two.wav", "three.wav"]
    assert page.pw.locator("#upload-list progress").count() == 3
    # Cancelling a file that waits its turn takes it out of the queue.
    page.pw.click("#upload-list .upload-item:nth-child(3) .cancel")
    assert page.pw.locator("#upload-list .upload-name").all_inner_texts() == ["one.wav", "two.wav"]


def test_an_error_goes_away_on_the_next_success(page: Page, key: str, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a recording\n" * 20)
    good = tmp_path / "good.wav"
    good.write_bytes(wav_bytes(0.5))
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    page.pw.set_input_files("#upload-file", str(bad))
    error = page.pw.wait_for_selector("#upload-message.error")
    assert "notes.txt" in error.inner_text() and "was not uploaded" in error.inner_text()
    page.pw.set_input_files("#upload-file", str(good))
    page.pw.wait_for_selector("text=Uploaded “good.wav”.")
    assert page.pw.locator(".notice.error:visible").count() == 0


def _wait_for(page: Page, held: list[Any]) -> None:
    """Until the held request has reached the route handler (which runs while Playwright waits)."""
    for _ in range(100):
        if held:
            return
        page.pw.wait_for_timeout(50)
    raise AssertionError("the request never came")


def test_a_loading_indicator_shows_while_the_list_loads(page: Page, key: str) -> None:
    page.pw.goto(page.base_url + "/")
    held: list[Any] = []
    page.pw.route("**/recordings?*", lambda route: held.append(route))
    page.pw.fill("#api-key", key)
    page.pw.click("#sign-in-form button[type=submit]")
    page.pw.wait_for_selector("#sign-in-form button[type=submit]:disabled >> text=Signing in")
    _wait_for(page, held)
    held.pop().continue_()
    page.pw.wait_for_selector("#list-message:not([hidden])")
    assert page.pw.is_hidden("#list-loading")
    page.pw.click("#refresh")
    page.pw.wait_for_selector("#list-loading:not([hidden])")
    assert "Loading" in page.pw.inner_text("#list-loading")
    _wait_for(page, held)
    held.pop().continue_()
    page.pw.wait_for_selector("#list-loading", state="hidden")


FAKE = {
    "total": 3,
    "recordings": [
        {
            "id": 3,
            "session_uid": "s-3",
            "meeting_id": None,
            "status": "failed",
            "source": "upload",
            "error_message": "the file could not be decoded",
            "created_at": "2026-01-02T10:00:00Z",
            "media_files": [],
        },
        {
            "id": 2,
            "session_uid": "s-2",
            "meeting_id": "standup",
            "status": "in_progress",
            "source": "bot",
            "error_message": None,
            "created_at": "2026-01-02T09:00:00Z",
            "media_files": [],
        },
        {
            "id": 1,
            "session_uid": "s-1",
            "meeting_id": "retro",
            "status": "completed",
            "source": "upload",
            "error_message": None,
            "created_at": "2026-01-01T09:00:00Z",
            "media_files": [
                {
                    "id": 1,
                    "type": "audio",
                    "format": "wav",
                    "duration_seconds": 3725.0,
                    "file_size_bytes": 12_300_000,
                }
            ],
        },
    ],
}


def test_rows_show_status_badges_and_a_failures_reason(page: Page, key: str) -> None:
    page.pw.route("**/recordings?*", lambda route: route.fulfill(json=FAKE))
    page.sign_in(key)
    page.pw.wait_for_selector("#recording-list .recording >> nth=2")
    badges = page.pw.locator("#recording-list .badge").all_inner_texts()
    assert badges == ["Failed", "In progress", "Completed"]
    failed = page.pw.locator("#recording-list .recording").first
    assert "the file could not be decoded" in failed.locator(".recording-error").inner_text()
    assert page.pw.locator("#recording-list .recording-error:visible").count() == 1
    last = page.pw.locator("#recording-list .recording").nth(2)
    assert last.locator(".recording-title").inner_text() == "Meeting retro"
    assert "1:02:05" in last.inner_text() and "12 MB" in last.inner_text()
    assert "2026" in last.locator(".recording-meta").inner_text()


def test_delete_says_it_cannot_be_undone(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "keep.wav", meeting_id="keep")
    page.sign_in(key)
    page.pw.click("#recording-list .delete")
    text = page.pw.wait_for_selector("#confirm-delete[open]").inner_text()
    assert "cannot be undone" in text and "“keep”" in text
    page.pw.click("#confirm-delete >> text=Keep it")


def test_the_fake_list_is_the_apis_shape(key: str, api_for: Any) -> None:
    """The fields the badge test fakes are the ones the API sends."""
    upload(api_for(key), wav_bytes(0.5), "x.wav")
    real = api_for(key).get("/recordings").json()
    fields = set(real["recordings"][0])
    assert set(FAKE["recordings"][2]) <= fields, json.dumps(sorted(fields))
    assert set(FAKE["recordings"][2]["media_files"][0]) <= set(real["recordings"][0]["media_files"][0])
