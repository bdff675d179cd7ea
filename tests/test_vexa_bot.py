"""Lite accepts exactly what Vexa's meeting bot sends (tests/vexabot.py plays the bot), on every
backend: its MeetingToken, its form, its defaults, its empty final chunk, its one-shot video, and
bytes that are not the media they claim to be, which are kept, not refused."""

from __future__ import annotations

import io
import os

import av
import httpx
import pytest

from tests.conftest import VEXA_ADMIN_TOKEN as ADMIN_TOKEN
from tests.conftest import VEXA_INTERNAL as INTERNAL
from tests.conftest import LiveServer
from tests.mediakit import record_chunks, wav_bytes
from tests.test_bot_upload import pcm_of
from tests.vexabot import VexaBot, mint_meeting_token

USER, MEETING = 4242, 77


def bot(client: httpx.Client, token: str | None = None, meeting: int = MEETING) -> VexaBot:
    return VexaBot(client, token or mint_meeting_token(ADMIN_TOKEN, USER, meeting), meeting)


def owner_view(vexa: LiveServer, recording_id: int) -> dict:
    """The recording as its owner sees it, with a key made for the user the token named."""
    with httpx.Client(base_url=vexa.url, headers={"X-Admin-API-Key": "test-admin-token"}) as admin:
        key = admin.post(f"/admin/users/{USER}/tokens").json()["token"]
    answer = httpx.get(f"{vexa.url}/recordings/{recording_id}", headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    return answer.json() | {"key": key}


def master_of(vexa: LiveServer, recording: dict, kind: str = "audio") -> bytes:
    media = next(m for m in recording["media_files"] if m["type"] == kind)
    url = f"{vexa.url}/recordings/{recording['id']}/media/{media['id']}/raw"
    return httpx.get(url, headers={"X-API-Key": recording["key"]}).content


def wav_chunks(count: int) -> list[bytes]:
    """As Vexa's PulseAudio pipeline sends them: each a complete WAV with its own 44-byte header."""
    return [wav_bytes(0.4, freq=300 + 100 * n) for n in range(count)]


def test_a_token_authenticated_wav_session_ends_with_the_empty_final_chunk(
    vexa: LiveServer, client: httpx.Client
) -> None:
    vexa_bot = bot(client)
    chunks = wav_chunks(3)
    for seq, data in enumerate(chunks):
        assert vexa_bot.chunk(data, seq, final=False).status_code == 201
    done = vexa_bot.chunk(b"", 3, final=True)
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "completed"
    recording = owner_view(vexa, done.json()["recording_id"])
    meeting = (recording["user_id"], recording["meeting_id"], recording["platform"])
    assert meeting == (USER, MEETING, "google_meet")
    assert recording["native_meeting_id"] == "abc-defg-hij"
    assert pcm_of(master_of(vexa, recording)) == b"".join(pcm_of(c) for c in chunks)  # sample-exact


def test_mediarecorder_webm_chunks_with_an_empty_final_become_a_decodable_master(
    vexa: LiveServer, client: httpx.Client
) -> None:
    chunks = record_chunks("audio", 3)
    vexa_bot = bot(client)
    for seq, data in enumerate(chunks):
        vexa_bot.chunk(data, seq, final=False, fmt="webm")
    done = vexa_bot.chunk(b"", len(chunks), final=True, fmt="webm").json()
    recording = owner_view(vexa, done["recording_id"])
    with av.open(io.BytesIO(master_of(vexa, recording))) as master:
        assert 2.0 < master.duration / av.time_base < 4.5


def test_complete_webm_files_sent_one_after_another_are_joined_end_to_end(
    vexa: LiveServer, client: httpx.Client
) -> None:
    """A bot that restarts its recorder sends whole files: the master lasts as long as all of them."""
    one_file = b"".join(record_chunks("audio", 3))
    vexa_bot = bot(client)
    for seq in range(3):
        answer = vexa_bot.chunk(one_file, seq, final=seq == 2, fmt="webm")
        assert answer.status_code == 201, answer.text
    recording = owner_view(vexa, answer.json()["recording_id"])
    assert recording["status"] == "completed"
    with av.open(io.BytesIO(master_of(vexa, recording))) as master:
        assert 7.5 < master.duration / av.time_base < 11.0


def test_a_one_shot_video_without_chunk_fields_is_final_at_once(
    vexa: LiveServer, client: httpx.Client
) -> None:
    vexa_bot = bot(client)
    vexa_bot.chunk(wav_chunks(1)[0], 0, final=True)
    video = vexa_bot.one_shot_video(b"".join(record_chunks("video", 3)))
    assert video.status_code == 201, video.text
    assert (video.json()["chunk_seq"], video.json()["status"]) == (0, "completed")
    recording = owner_view(vexa, video.json()["recording_id"])
    assert sorted(m["type"] for m in recording["media_files"]) == ["audio", "video"]


def test_bytes_that_are_not_the_declared_media_are_kept_exactly(
    vexa: LiveServer, client: httpx.Client
) -> None:
    garbage = [os.urandom(3000) for _ in range(3)]
    vexa_bot = bot(client)
    for seq, data in enumerate(garbage):
        assert vexa_bot.chunk(data, seq, final=seq == 2).status_code == 201
    recording = owner_view(vexa, vexa_bot.sent[-1].json()["recording_id"])
    assert recording["status"] == "failed"
    assert "joined in order" in recording["error_message"]
    assert master_of(vexa, recording) == b"".join(garbage)


def test_defaults_are_vexas_audio_wav_chunk_zero_final(vexa: LiveServer, client: httpx.Client) -> None:
    token = mint_meeting_token(ADMIN_TOKEN, USER, MEETING)
    answer = client.post("/internal/recordings/upload", headers={"Authorization": f"Bearer {token}"},
                         files={"file": ("recording.wav", wav_chunks(1)[0], "audio/wav")},
                         data={"metadata": '{"session_uid": "one-shot-audio"}'})  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert (answer.json()["chunk_seq"], answer.json()["status"]) == (0, "completed")


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"ttl": -10}, "expired"),
        ({"aud": "someone-else"}, "invalid meeting token"),
        ({"iss": "not-meeting-api"}, "invalid meeting token"),
        ({"scope": "read"}, "scope"),
        ({"header": {"alg": "HS256", "typ": "JOSE"}}, "typ JWT"),
    ],
    ids=["expired", "audience", "issuer", "scope", "type"],
)
def test_a_token_vexa_would_refuse_is_refused_with_403(
    client: httpx.Client, claims: dict, words: str
) -> None:
    answer = bot(client, mint_meeting_token(ADMIN_TOKEN, USER, MEETING, **claims)).chunk(b"x", 0, final=False)
    assert answer.status_code == 403
    assert words in answer.json()["detail"]


def test_a_token_signed_with_another_secret_is_refused(client: httpx.Client) -> None:
    answer = bot(client, mint_meeting_token("not-the-admin-token", USER, MEETING)).chunk(b"x", 0, final=False)
    assert answer.status_code == 403


def test_a_token_for_another_meeting_cannot_add_to_a_session(client: httpx.Client) -> None:
    first = bot(client)
    first.chunk(wav_chunks(1)[0], 0, final=False)
    intruder = bot(client, meeting=MEETING + 1)
    intruder.session_uid = first.session_uid
    assert intruder.chunk(wav_chunks(1)[0], 1, final=False).status_code == 403


def test_the_internal_secret_adds_to_a_session_the_token_started(
    vexa: LiveServer, client: httpx.Client
) -> None:
    first = bot(client)
    first.chunk(wav_chunks(1)[0], 0, final=False)
    internal = VexaBot(client, INTERNAL, MEETING, session_uid=first.session_uid)
    done = internal.chunk(wav_chunks(2)[1], 1, final=True)
    assert done.status_code == 201, done.text
    assert owner_view(vexa, done.json()["recording_id"])["status"] == "completed"


def test_an_empty_final_chunk_for_an_unknown_session_is_404(client: httpx.Client) -> None:
    assert bot(client).chunk(b"", 5, final=True).status_code == 404


def test_an_in_progress_download_on_any_backend_points_at_what_has_arrived(
    vexa: LiveServer, client: httpx.Client
) -> None:
    vexa_bot = bot(client)
    first = wav_chunks(1)[0]
    ack = vexa_bot.chunk(first, 0, final=False).json()
    recording = owner_view(vexa, ack["recording_id"])
    link = httpx.get(f"{vexa.url}/recordings/{ack['recording_id']}/media/{ack['media_file_id']}/download",
                     headers={"X-API-Key": recording["key"]}).json()  # fmt: skip
    assert link["url"].startswith("/recordings/")  # not a presigned URL of a master that isn't there
    assert httpx.get(vexa.url + link["url"], headers={"X-API-Key": recording["key"]}).content == first


def test_a_failed_recording_keeps_its_chunks_and_can_be_finalized_again(
    vexa: LiveServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An assembler that fails once (a bug, since fixed): the chunks were kept, so a retry makes the
    recording whole."""
    from lite.media.assemble import AssemblyError
    from lite.sessions import finalize

    real = finalize.assemble_wav
    failures = iter([AssemblyError("a bug in this version")])

    def flaky(*args: object) -> object:
        for failure in failures:
            raise failure
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(finalize, "assemble_wav", flaky)
    vexa_bot = bot(client)
    chunks = wav_chunks(2)
    for seq, data in enumerate(chunks):
        vexa_bot.chunk(data, seq, final=seq == 1)
    recording = owner_view(vexa, vexa_bot.sent[-1].json()["recording_id"])
    assert (recording["status"], "a bug in this version" in recording["error_message"]) == ("failed", True)
    path = f"{vexa.url}/recordings/{recording['id']}"
    again = httpx.post(f"{path}/finalize", headers={"X-API-Key": recording["key"]})
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["error_message"]) == ("completed", None)
    assert pcm_of(master_of(vexa, recording)) == b"".join(pcm_of(c) for c in chunks)
    twice = httpx.post(f"{path}/finalize", headers={"X-API-Key": recording["key"]})
    assert twice.status_code == 409
