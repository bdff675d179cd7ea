"""Media from strangers is opened by rule and decoded within bounds: files that describe network
streams or point at other files are not followed, a file that decodes to far more audio than its
size can hold is refused, and slow level overviews queue boundedly in a pool of their own while
/raw goes on. The hostile files are made here, by hand."""

from __future__ import annotations

import io
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from lite.errors import UnsupportedMedia
from lite.media import waveform
from lite.media.opening import open_media
from lite.media.probe import probe_duration
from tests.mediakit import wav_bytes
from tests.test_api_recordings import upload
from tests.test_bot_upload import UPLOAD

SDP = b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"


def wav_header(rate: int, data_size: int, bits: int = 8, channels: int = 1) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    return b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + \
        b"data" + struct.pack("<I", data_size)  # fmt: skip


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A real recording outside the uploaded file: what reference-following formats would read."""
    target = tmp_path / "private.wav"
    target.write_bytes(wav_bytes(2.0))
    return target


@pytest.mark.parametrize(
    "content",
    [
        SDP,
        b"ffconcat version 1.0\nfile 'TARGET'\n",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://TARGET\n#EXT-X-ENDLIST\n",
        b"file 'TARGET'\n",
    ],
    ids=["sdp", "ffconcat", "hls", "concat"],
)
def test_files_that_point_elsewhere_are_not_followed(tmp_path: Path, elsewhere: Path, content: bytes) -> None:
    upload_file = tmp_path / "upload.bin"
    upload_file.write_bytes(content.replace(b"TARGET", str(elsewhere).encode()))
    started = time.monotonic()
    assert probe_duration(upload_file) is None  # probing found the private file's 2 s before
    assert time.monotonic() - started < 2  # no socket waited on
    with pytest.raises(UnsupportedMedia, match="supported: WAV"):
        open_media(upload_file)


def test_a_file_named_like_an_image_sequence_is_not_a_pattern(tmp_path: Path, elsewhere: Path) -> None:
    pattern = tmp_path / "frame-%03d.wav"
    pattern.write_bytes(b"not media at all")
    with pytest.raises(UnsupportedMedia):
        open_media(pattern)


def test_audio_that_decodes_to_far_more_than_its_size_holds_is_refused() -> None:
    """A 1 kHz 8-bit WAV declaring no end: the decode is cut where the file's size says it must."""
    data = 2_000_000  # 2,000 s of 8-bit samples; a file of 2 MB may hold at most 100,000 s...
    bomb = wav_header(rate=1000, data_size=data) + bytes(range(256)) * (data // 256)
    with pytest.raises(waveform.NoAudioLevels, match="more than a file of this size holds"):
        waveform.window_peaks(io.BytesIO(bomb), size=1000)  # ...but this one says it is 1 KB


@pytest.mark.parametrize(("rate", "channels"), [(1, 1), (2_000_000_000, 1), (8000, 200)])
def test_a_header_that_lies_about_rate_or_channels_is_refused(rate: int, channels: int) -> None:
    """A window of a 2 GHz "recording" would be a hundred million samples held at once."""
    data = 64_000
    bomb = wav_header(rate=rate, data_size=data, bits=8, channels=channels) + bytes(data)
    with pytest.raises(waveform.NoAudioLevels, match="declares"):
        waveform.window_peaks(io.BytesIO(bomb), size=len(bomb))


def test_a_bot_chunk_that_describes_a_network_stream_gets_a_415_overview_not_a_hang(
    api: httpx.Client,
) -> None:
    meta = '{"session_uid": "sdp-bot", "format": "wav", "chunk_seq": 0, "is_final": true}'
    ack = api.post(UPLOAD, files={"file": ("c.wav", SDP)}, data={"metadata": meta}).json()
    recording = api.get(f"/recordings/{ack['recording_id']}").json()
    path = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/waveform"
    started = time.monotonic()
    answer = api.get(path)
    assert (answer.status_code, time.monotonic() - started < 2) == (415, True)
    assert "supported" in answer.json()["detail"]


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_slow_overviews_queue_boundedly_and_raw_goes_on(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = waveform.window_peaks

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(0.5)  # a long meeting's decode
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(waveform, "window_peaks", slow)
    recordings = [upload(api, wav_bytes(0.3, freq=200 + 10 * n)).json() for n in range(14)]
    paths = [f"/recordings/{r['id']}/media/{r['media_files'][0]['id']}" for r in recordings]
    with ThreadPoolExecutor(len(paths)) as pool:
        answers = list(pool.map(lambda p: api.get(p + "/waveform"), paths))
        started = time.monotonic()
        assert api.get(paths[0] + "/raw").status_code == 200
        raw_seconds = time.monotonic() - started
    statuses = sorted(a.status_code for a in answers)
    busy = [a for a in answers if a.status_code == 503]
    assert statuses.count(200) == waveform.DECODE_WORKERS + waveform.MAX_WAITING
    assert busy and all(a.headers.get("Retry-After") for a in busy)
    assert raw_seconds < 2.0


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "local")


def _peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def test_the_server_stays_small_under_a_decode_bomb(tmp_path: Path) -> None:
    """A 2 MB WAV declaring 1 Hz is 23 days of audio, a window per sample: the version before the
    bounds kept one array per frame; with this very file its server grew by 583 MiB and answered
    after 69.5 s (measured). Now it is refused at its header, three times, without a decode."""
    from tests.conftest import ADMIN_TOKEN, backend_env
    from tests.procserver import ServerProcess

    data = 2_000_000
    bomb = wav_header(rate=1, data_size=data) + bytes(range(256)) * (data // 256)
    server = ServerProcess(backend_env("local", tmp_path, None), tmp_path / "server.log").start()
    try:
        assert server.proc is not None
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}, timeout=60) as admin:
            user = admin.post("/admin/users", json={"email": "bomber@example.com"}).json()
            key = admin.post(f"/admin/users/{user['id']}/tokens").json()["token"]
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as api:
            recording = upload(api, bomb, "bomb.wav").json()
            before = _peak_rss_mib(server.proc.pid)
            media = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}"
            for buckets in (100, 200, 300):  # a new bucket count is no new decode
                assert api.get(f"{media}/waveform", params={"buckets": buckets}).status_code == 422
            grown = _peak_rss_mib(server.proc.pid) - before
        assert grown < 30, f"the server grew by {grown:.0f} MiB"
    finally:
        server.stop()
