"""The level overview behind the player's waveform: computed with PyAV from the stored file."""

from __future__ import annotations

import io
import os

import httpx
import numpy as np
import pytest

from lite.media.waveform import NoAudioLevels, fold, window_peaks
from tests.mediakit import pcm_samples, wav_bytes
from tests.test_api_recordings import upload


def tone_then_silence() -> bytes:
    """One second of a loud tone, then one second of silence, as a 16 kHz mono WAV."""
    wav = bytearray(wav_bytes(2.0))
    tone = pcm_samples(1.0)
    body = tone + bytes(len(tone))
    return bytes(wav[: len(wav) - len(body)]) + body


def test_window_peaks_follow_the_loudness_of_the_audio() -> None:
    peaks, duration = window_peaks(io.BytesIO(tone_then_silence()))
    assert duration == pytest.approx(2.0)
    assert len(peaks) == 40  # 50 ms windows
    assert peaks[:19].min() > 0.3
    assert peaks[21:].max() == 0


def test_fold_keeps_the_loudest_window_of_each_bucket() -> None:
    peaks = np.array([0.1, 0.9, 0.2, 0.3, 0.0, 0.4], dtype=np.float32)
    assert fold(peaks, 3) == [0.9, 0.3, 0.4]


def test_fold_never_makes_more_buckets_than_windows() -> None:
    assert len(fold(np.array([0.5, 0.25], dtype=np.float32), 100)) == 2


def test_a_file_that_does_not_decode_has_no_levels() -> None:
    garbage = b"RIFF" + (5000).to_bytes(4, "little") + b"WAVE" + os.urandom(5000)
    with pytest.raises(NoAudioLevels) as caught:
        window_peaks(io.BytesIO(garbage))
    assert caught.value.status_code == 422


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "local")


@pytest.mark.parametrize("backend", ["local", "minio"], indirect=True)
def test_the_waveform_endpoint_answers_the_peaks_of_the_stored_file(api: httpx.Client) -> None:
    recording = upload(api, tone_then_silence()).json()
    path = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/waveform?buckets=4"
    answer = api.get(path)
    assert answer.status_code == 200, answer.text
    levels = answer.json()
    assert levels["duration_seconds"] == pytest.approx(2.0)
    assert levels["bucket_seconds"] == pytest.approx(0.5)
    assert levels["peaks"][:2] == [pytest.approx(0.366, abs=0.01)] * 2
    assert levels["peaks"][2:] == [0, 0]


def test_the_waveform_of_an_undecodable_file_is_a_422_with_a_detail(api: httpx.Client) -> None:
    garbage = b"RIFF" + (5000).to_bytes(4, "little") + b"WAVE" + os.urandom(5000)
    recording = upload(api, garbage).json()
    answer = api.get(f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/waveform")
    assert answer.status_code == 422
    assert "cannot be decoded" in answer.json()["detail"]


def test_another_users_waveform_is_not_found(api: httpx.Client, other_api: httpx.Client) -> None:
    recording = upload(api, wav_bytes(0.5)).json()
    path = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/waveform"
    assert other_api.get(path).status_code == 404
