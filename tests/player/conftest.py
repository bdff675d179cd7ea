"""The player page's tests: each gets a live server on its backend, a Chromium page and a user's key
(tests/playerkit.py defines the fixtures; importing them here makes them this folder's)."""

from tests.playerkit import (
    fixture_api_for,
    fixture_backend,
    fixture_browser,
    fixture_key,
    fixture_page,
)

__all__ = ["fixture_api_for", "fixture_backend", "fixture_browser", "fixture_key", "fixture_page"]
