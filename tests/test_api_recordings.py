"""The recordings API, the same behaviour on every storage backend."""

from __future__ import annotations

import hashlib
import io

import av
import httpx
import numpy as np
import pytest

from tests.mediakit import wav_bytes

WAV = wav_bytes(1.0)


def upload(api: httpx.Client, data: bytes = WAV, name: str = "talk.wav", **fields: str) -> httpx.Response:
    return api.post("/recordings", files={"file": (name, data, "application/octet-stream")}, data=fields)


def test_upload_creates_a_completed_recording_with_one_media_file(api: httpx.Client, backend: str) -> None:
    answer = upload(api, session_uid="abc123", meeting_id="42")
    assert answer.status_code == 201, answer.text
    recording = answer.json()
    assert recording["status"] == "completed"
    assert recording["source"] == "upload"
    assert recording["session_uid"] == "abc123"
    assert recording["meeting_id"] == 42
    [media] = recording["media_files"]
    assert media["type"] == "audio"
    assert media["format"] == "wav"
    assert media["content_type"] == "audio/wav"
    assert media["storage_backend"] == backend
    assert media["file_size_bytes"] == len(WAV)
    # The object's key, as Vexa lists it: the same on every backend, never a path on the server.
    assert media["storage_path"] == f"recordings/{recording['user_id']}/{recording['id']}/abc123.wav"


def test_ids_are_random_positive_integers(api: httpx.Client) -> None:
    ids = [upload(api).json()["id"] for _ in range(3)]
    assert all(isinstance(i, int) and 0 < i < 2**53 for i in ids)
    assert sorted(ids) != [ids[0], ids[0] + 1, ids[0] + 2]


def test_raw_returns_the_uploaded_bytes(api: httpx.Client) -> None:
    recording = upload(api).json()
    media = recording["media_files"][0]
    raw = api.get(f"/recordings/{recording['id']}/media/{media['id']}/raw")
    assert raw.status_code == 200
    assert raw.content == WAV
    assert raw.headers["content-type"] == "audio/wav"
    assert raw.headers["accept-ranges"] == "bytes"
    assert raw.headers["content-disposition"].startswith("inline;")
    assert raw.headers["etag"] == f'"{hashlib.sha256(WAV).hexdigest()[:32]}"'
    assert raw.headers["last-modified"].endswith("GMT")


def test_get_returns_the_recording(api: httpx.Client) -> None:
    recording = upload(api).json()
    assert api.get(f"/recordings/{recording['id']}").json() == recording


def test_list_is_newest_first_and_paginated(api: httpx.Client) -> None:
    ids = [upload(api).json()["id"] for _ in range(5)]
    page = api.get("/recordings", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [r["id"] for r in page["recordings"]] == list(reversed(ids))[1:3]


def test_list_filters_by_session_meeting_and_status(api: httpx.Client) -> None:
    upload(api, session_uid="s-one", meeting_id="7")
    upload(api, session_uid="s-two", meeting_id="8")
    assert [r["session_uid"] for r in api.get("/recordings?session_uid=s-two").json()["recordings"]] == [
        "s-two"
    ]
    assert api.get("/recordings?meeting_id=7").json()["total"] == 1
    assert api.get("/recordings?status=completed").json()["total"] == 2
    assert api.get("/recordings?status=in_progress").json()["total"] == 0


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_list_refuses_a_limit_outside_1_to_200(api: httpx.Client, limit: int) -> None:
    answer = api.get("/recordings", params={"limit": limit})
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": f"limit must be between 1 and 200 (got {limit})",
        "code": "invalid_input",
    }


def test_delete_removes_the_recording_and_its_bytes(api: httpx.Client) -> None:
    recording = upload(api).json()
    media = recording["media_files"][0]
    answer = api.delete(f"/recordings/{recording['id']}")
    assert answer.status_code == 200
    assert answer.json() == {"status": "deleted", "recording_id": recording["id"]}
    assert api.get(f"/recordings/{recording['id']}").status_code == 404
    assert api.get(f"/recordings/{recording['id']}/media/{media['id']}/raw").status_code == 404
    assert api.get("/recordings").json()["total"] == 0


def test_download_points_at_the_raw_path_on_local_and_a_presigned_url_on_object_storage(
    api: httpx.Client, backend: str
) -> None:
    recording = upload(api, session_uid="abc123").json()
    media = recording["media_files"][0]
    raw_path = f"/recordings/{recording['id']}/media/{media['id']}/raw"
    info = api.get(f"/recordings/{recording['id']}/media/{media['id']}/download").json()
    assert info["raw_url"].split("?")[0] == raw_path
    assert info["download_url"] == info["url"]
    assert info["filename"] == "talk.wav"  # the recording's title (the uploaded file's name)
    assert info["content_type"] == "audio/wav"
    assert info["file_size_bytes"] == len(WAV)
    assert info["storage_backend"] == backend
    if backend == "local":
        assert info["url"].split("?")[0] == raw_path
    else:
        assert info["expires_in"] == 3600
        assert httpx.get(info["url"]).content == WAV  # the presigned URL itself works


def test_a_video_track_of_the_same_session_gets_its_own_name(api: httpx.Client) -> None:
    webm = b"\x1a\x45\xdf\xa3" + b"\0" * 64
    recording = upload(api, webm, "clip.webm", session_uid="abc123", media_type="video").json()
    media = recording["media_files"][0]
    # Bytes PyAV cannot read leave the client's word standing (the streams decide when readable).
    assert (media["type"], media["content_type"]) == ("video", "video/webm")
    assert media["storage_path"].endswith("/abc123.video.webm")


def test_format_comes_from_the_content_when_nothing_else_says(api: httpx.Client) -> None:
    recording = upload(api, name="recording").json()
    assert recording["media_files"][0]["format"] == "wav"


def test_the_duration_of_an_upload_is_read_from_the_media(api: httpx.Client) -> None:
    recording = upload(api, wav_bytes(2.5)).json()
    assert recording["media_files"][0]["duration_seconds"] == pytest.approx(2.5)


def test_a_stated_duration_wins_over_the_probe(api: httpx.Client) -> None:
    recording = upload(api, WAV, duration_seconds="12.5").json()
    assert recording["media_files"][0]["duration_seconds"] == 12.5


def webm_bytes(video: bool, seconds: float = 0.5) -> bytes:
    """A small WebM with an Opus track, and a VP8 track when `video`."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "mono"  # type: ignore[union-attr]
        if video:
            picture = container.add_stream("libvpx", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"  # type: ignore[union-attr]
            for i in range(int(seconds * 10)):
                image = np.full((48, 64, 3), i * 20 % 255, np.uint8)
                container.mux(picture.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(picture.encode())
        for start in range(0, int(48000 * seconds), 960):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return out.getvalue()


@pytest.mark.parametrize(
    ("video", "declared", "expected"),
    [(False, "video", "audio"), (False, None, "audio"), (True, None, "video"), (True, "audio", "video")],
    ids=["audio-only-declared-video", "audio-only", "video", "video-declared-audio"],
)
def test_the_files_streams_decide_the_media_type(
    api: httpx.Client, video: bool, declared: str | None, expected: str
) -> None:
    fields = {"media_type": declared} if declared else {}
    recording = upload(api, webm_bytes(video), "clip.webm", **fields).json()
    [media] = recording["media_files"]
    assert (media["type"], media["content_type"]) == (expected, f"{expected}/webm")
    assert recording["playback_url"][expected] is not None


def test_a_wav_declared_as_video_is_audio(api: httpx.Client) -> None:
    [media] = upload(api, WAV, "a.wav", media_type="video").json()["media_files"]
    assert (media["type"], media["content_type"]) == ("audio", "audio/wav")


def test_a_presigned_download_carries_the_title_in_its_utf8_form(api: httpx.Client, backend: str) -> None:
    """The store answers a presigned URL with the Content-Disposition Lite signed into it: the same
    RFC 6266 pair as /raw, so a non-ASCII title survives a direct download from the bucket."""
    if backend == "local":
        pytest.skip("local has no presigned URLs: /raw names the file (tests/test_titles.py)")
    recording = upload(api, name="Réunion d'équipe.wav").json()
    media = recording["media_files"][0]
    info = api.get(f"/recordings/{recording['id']}/media/{media['id']}/download").json()
    answer = httpx.get(info["url"])
    assert answer.content == WAV
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Reunion d\'equipe.wav"')
    assert "filename*=UTF-8''R%C3%A9union%20d%27%C3%A9quipe.wav" in disposition
