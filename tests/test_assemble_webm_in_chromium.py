"""The assembled WebM master in headless Chromium: a finite duration, seeking and playing from 75 %.

The raw concatenation of MediaRecorder chunks, for contrast, shows an infinite duration.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.assemblekit import (
    Masters,
    Recording,
    fixture_masters,  # noqa: F401 - a fixture
    fixture_recording,  # noqa: F401 - a fixture
)
from tests.chromiumkit import chromium_page, play_in_chromium, serve_directory

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    with chromium_page() as page:
        yield page


@pytest.fixture(scope="module")
def served(masters: Masters) -> Iterator[str]:
    root = next(iter(masters.values()))[0].parent
    with serve_directory(root) as base:
        yield base


def test_chromium_shows_a_finite_duration_for_the_master_and_seeks_and_plays_from_75_percent(
    recording: Recording, masters: Masters, served: str, browser_page: Any
) -> None:
    kind, _, seconds = recording
    master, assembled, _ = masters[kind]

    started = time.monotonic()
    result = play_in_chromium(browser_page, f"{served}/{master.name}", kind, fraction=0.75, play_ms=600)
    played = time.monotonic() - started

    assert result["error"] is None
    assert result["duration"] == pytest.approx(assembled.duration_seconds, abs=0.01)
    assert result["duration"] == pytest.approx(seconds, abs=0.3)
    assert result["afterSeek"] == pytest.approx(0.75 * result["duration"], abs=0.05)
    # Playback went on from the seek target, not from the start.
    assert result["seekTarget"] + 0.2 < result["afterPlay"] < result["seekTarget"] + played + 0.1


def test_chromium_shows_an_infinite_duration_for_the_raw_concatenation(
    recording: Recording, masters: Masters, served: str, browser_page: Any
) -> None:
    kind, _, _ = recording
    raw = masters[kind][2]

    result = play_in_chromium(browser_page, f"{served}/{raw.name}", kind, fraction=None)

    assert result["error"] is None
    assert math.isinf(result["duration"])
