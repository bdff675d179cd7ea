"""Vexa's dashboard finds and plays what Vexa's bot recorded into Lite, on every backend: its meeting
page (`/transcripts/{platform}/{native_id}` → recordings → `playback_url` → `/master?type=` →
the media through its proxy), its meetings list, and the recording fields it reads."""

from __future__ import annotations

import io
import wave
from datetime import datetime

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, LiveServer, new_user_key
from tests.test_bot_upload import pcm_of
from tests.test_vexa_bot import MEETING, USER, bot, wav_chunks
from tests.vexabot import mint_meeting_token
from tests.vexadashboard import DashboardError, VexaDashboard

NATIVE = "abc-defg-hij"  # the native meeting id tests/vexabot.py's tokens carry


def user_key(vexa: LiveServer, user_id: int = USER) -> str:
    with httpx.Client(base_url=vexa.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        answer = admin.post(f"/admin/users/{user_id}/tokens")
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def dashboard(vexa: LiveServer, user_id: int = USER) -> VexaDashboard:
    return VexaDashboard(vexa.url, user_key(vexa, user_id))


def record(client: httpx.Client, chunks: list[bytes], meeting: int = MEETING, native: str = NATIVE,
           final: bool = True) -> int:  # fmt: skip
    """A bot session as Vexa's bot sends it; the recording's id."""
    from tests.test_vexa_bot import ADMIN_TOKEN as MEETING_SECRET

    vexa_bot = bot(
        client, mint_meeting_token(MEETING_SECRET, USER, meeting, native_meeting_id=native), meeting
    )
    for seq, data in enumerate(chunks):
        assert vexa_bot.chunk(data, seq, final=False).status_code == 201
    if final:
        assert vexa_bot.chunk(b"", len(chunks), final=True).status_code == 201
    return int(vexa_bot.sent[-1].json()["recording_id"])


def test_the_meeting_page_finds_the_bots_recording_by_platform_and_native_id(
    vexa: LiveServer, client: httpx.Client
) -> None:
    recording_id = record(client, wav_chunks(2))
    page = dashboard(vexa).meeting_with_transcripts("google_meet", NATIVE)
    assert (page["id"], page["platform"], page["native_meeting_id"]) == (MEETING, "google_meet", NATIVE)
    assert page["status"] == "completed"
    assert page["constructed_meeting_url"] == f"https://meet.google.com/{NATIVE}"
    assert page["segments"] == []  # Lite keeps recordings, not transcripts
    assert [r["id"] for r in VexaDashboard.playable(page["recordings"])] == [recording_id]


def test_the_player_plays_the_master_through_the_dashboards_proxy(
    vexa: LiveServer, client: httpx.Client
) -> None:
    chunks = wav_chunks(3)
    recording_id = record(client, chunks)
    board = dashboard(vexa)
    found = board.master_stream_url(recording_id, "audio")
    assert found is not None
    url, duration = found
    assert 1.0 < duration < 1.5  # three chunks of 0.4 s
    assert pcm_of(board.fetch(url).content) == b"".join(pcm_of(c) for c in chunks)


def test_the_player_seeks_with_a_range_through_the_proxy(vexa: LiveServer, client: httpx.Client) -> None:
    recording_id = record(client, wav_chunks(2))
    board = dashboard(vexa)
    url, _ = board.master_stream_url(recording_id, "audio") or ("", 0)
    whole = board.fetch(url).content
    part = board.fetch(url, {"Range": "bytes=100-199"})
    assert (part.status_code, part.content) == (206, whole[100:200])


def test_the_proxys_own_rule_accepts_the_master_url(vexa: LiveServer, client: httpx.Client) -> None:
    recording_id = record(client, wav_chunks(1))
    board = dashboard(vexa)
    media = board.fetch(board.proxied_master_url(recording_id, "audio"))
    assert media.status_code == 200
    with wave.open(io.BytesIO(media.content)) as w:
        assert w.getframerate() == 16000


def test_while_the_bot_still_sends_the_recording_is_listed_and_its_master_is_finalizing(
    vexa: LiveServer, client: httpx.Client
) -> None:
    recording_id = record(client, wav_chunks(2), final=False)
    board = dashboard(vexa)
    page = board.meeting_with_transcripts("google_meet", NATIVE)
    assert page["status"] == "active" and page["end_time"] is None
    assert [r["id"] for r in VexaDashboard.playable(page["recordings"])] == [recording_id]
    assert board.master_stream_url(recording_id, "audio") is None  # 404: "finalizing"


def test_a_type_the_recording_lacks_has_no_master(vexa: LiveServer, client: httpx.Client) -> None:
    recording_id = record(client, wav_chunks(1))
    board = dashboard(vexa)
    recording = board.proxy(f"/recordings/{recording_id}").json()
    assert recording["playback_url"] == {
        "audio": f"/recordings/{recording_id}/master?type=audio",
        "video": None,
    }
    assert board.master_stream_url(recording_id, "video") is None


def test_a_master_type_other_than_audio_or_video_is_refused(vexa: LiveServer, client: httpx.Client) -> None:
    recording_id = record(client, wav_chunks(1))
    answer = dashboard(vexa).proxy(f"/recordings/{recording_id}/master?type=screenshot")
    assert answer.status_code == 400 and answer.json()["detail"]
    with pytest.raises(DashboardError):
        dashboard(vexa).master_stream_url(recording_id, "screenshot")


def test_the_master_answer_carries_every_field_vexas_clients_read(
    vexa: LiveServer, client: httpx.Client
) -> None:
    recording_id = record(client, wav_chunks(2))
    master = dashboard(vexa).proxy(f"/recordings/{recording_id}/master?type=audio").json()
    media_id = master["media_file_id"]
    assert master["raw_url"] == f"/recordings/{recording_id}/media/{media_id}/raw"
    assert master["filename"] == f"{recording_id}_audio.wav"
    assert master["content_type"] == "audio/wav"
    assert master["file_size_bytes"] > 44 and master["expires_in"] > 0
    if vexa.settings.storage_backend == "local":
        assert master["url"] == master["download_url"] == master["raw_url"]
    else:  # presigned: the browser reads storage itself, with no key
        assert master["url"].startswith("http") and httpx.get(master["url"]).content[:4] == b"RIFF"


def test_the_recording_carries_vexas_media_fields(vexa: LiveServer, client: httpx.Client) -> None:
    recording_id = record(client, wav_chunks(3))
    recording = dashboard(vexa).proxy(f"/recordings/{recording_id}").json()
    assert recording["status"] == "completed" and recording["error_message"] is None
    media = recording["media_files"][0]
    assert media["metadata"] == {"sample_rate": 16000}
    assert (media["chunk_count"], media["is_final"]) == (3, True)
    assert media["finalized_by"] == "recording_finalizer.master" and media["finalized_at"]
    assert media["storage_path"].startswith(f"recordings/{USER}/{recording_id}/")


def test_timestamps_name_their_time_zone(vexa: LiveServer, client: httpx.Client) -> None:
    recording_id = record(client, wav_chunks(1))
    recording = dashboard(vexa).proxy(f"/recordings/{recording_id}").json()
    for stamp in (
        recording["created_at"],
        recording["completed_at"],
        recording["media_files"][0]["finalized_at"],
    ):
        assert datetime.fromisoformat(stamp).utcoffset() is not None


def test_meetings_are_listed_newest_first_in_pages(vexa: LiveServer, client: httpx.Client) -> None:
    record(client, wav_chunks(1), meeting=1, native="aaa-bbbb-ccc")
    record(client, wav_chunks(1), meeting=2, native="ddd-eeee-fff")
    board = dashboard(vexa)
    first = board.proxy("/meetings?limit=1").json()
    assert [m["id"] for m in first["meetings"]] == [2] and first["has_more"] is True
    rest = board.proxy("/meetings?limit=1&offset=1").json()
    assert [m["native_meeting_id"] for m in rest["meetings"]] == ["aaa-bbbb-ccc"] and rest[
        "has_more"
    ] is False


def test_one_meeting_is_found_by_its_vexa_id(vexa: LiveServer, client: httpx.Client) -> None:
    record(client, wav_chunks(1), meeting=31)
    board = dashboard(vexa)
    assert board.proxy("/meetings/31").json()["native_meeting_id"] == NATIVE
    assert board.proxy("/meetings/32").status_code == 404


def test_meeting_id_selects_an_older_meeting_with_the_same_native_id(
    vexa: LiveServer, client: httpx.Client
) -> None:
    older = record(client, wav_chunks(1), meeting=5)
    newer = record(client, wav_chunks(1), meeting=6)
    board = dashboard(vexa)
    assert [r["id"] for r in board.meeting_with_transcripts("google_meet", NATIVE)["recordings"]] == [newer]
    page = board.meeting_with_transcripts("google_meet", NATIVE, meeting_id="5")
    assert [r["id"] for r in page["recordings"]] == [older]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/transcripts/google_meet/xyz-wxyz-xyz", 404),
        ("/transcripts/webex/abc", 422),
        ("/meetings?status=x", 422),
    ],
)
def test_unknown_meetings_and_bad_filters_are_refused(
    vexa: LiveServer, client: httpx.Client, path: str, status: int
) -> None:
    record(client, wav_chunks(1))
    answer = dashboard(vexa).proxy(path)
    assert answer.status_code == status and answer.json()["detail"]


def test_another_users_meeting_is_not_found(vexa: LiveServer, client: httpx.Client) -> None:
    record(client, wav_chunks(1))
    with httpx.Client(base_url=vexa.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        stranger = admin.post("/admin/users", json={"email": "stranger@example.com"}).json()["id"]
    assert dashboard(vexa, stranger).proxy(f"/transcripts/google_meet/{NATIVE}").status_code == 404


def uploader(vexa: LiveServer) -> VexaDashboard:
    with httpx.Client(base_url=vexa.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        return VexaDashboard(vexa.url, new_user_key(admin)[1])


def test_an_upload_with_platform_and_native_id_belongs_to_that_meeting(vexa: LiveServer) -> None:
    board = uploader(vexa)
    form = {"session_uid": "upload-1", "platform": "teams", "native_meeting_id": "9876543210"}
    answer = httpx.post(f"{vexa.url}/recordings/", data=form, headers={"X-API-Key": board.api_key},
                        files={"file": ("talk.wav", wav_chunks(1)[0], "audio/wav")})  # fmt: skip
    assert answer.status_code == 201, answer.text
    page = board.meeting_with_transcripts("teams", "9876543210")
    assert [r["id"] for r in page["recordings"]] == [answer.json()["id"]]
    assert page["id"] == answer.json()["id"]  # no Vexa meeting id: named by its first recording


def test_an_upload_naming_a_platform_without_a_meeting_id_there_is_refused(vexa: LiveServer) -> None:
    key = uploader(vexa).api_key
    answer = httpx.post(f"{vexa.url}/recordings/", data={"platform": "zoom"}, headers={"X-API-Key": key},
                        files={"file": ("talk.wav", wav_chunks(1)[0], "audio/wav")})  # fmt: skip
    assert answer.status_code == 422 and "native_meeting_id" in answer.json()["detail"]
