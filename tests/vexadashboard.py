"""Vexa's dashboard (v0.10.7) as a test client: the calls its meeting page makes, and the rules of
its `/api/vexa/...` proxy, followed from `services/dashboard/src/lib/api.ts` and
`src/app/api/vexa/[...path]/route.ts`. Lite is the `VEXA_API_URL` the proxy forwards to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

PROXY = "/api/vexa"
FORWARDED = ("range",)  # the proxy forwards Range, and the key, nothing else of the browser's


class DashboardError(Exception):
    """What the dashboard shows as a connection error."""


@dataclass
class VexaDashboard:
    lite_url: str  # VEXA_API_URL
    api_key: str  # the user's key, which the proxy adds as X-API-Key

    def proxy(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """`/api/vexa/<path>` → `VEXA_API_URL/<path>` with X-API-Key."""
        sent = {k: v for k, v in (headers or {}).items() if k.lower() in FORWARDED}
        return httpx.get(self.lite_url + path, headers=sent | {"X-API-Key": self.api_key}, timeout=30)

    def meeting_with_transcripts(self, platform: str, native_id: str, meeting_id: str | None = None) -> Any:
        """getMeetingWithTranscripts: the meeting page's one call for meeting, segments, recordings."""
        params = f"?meeting_id={meeting_id}" if meeting_id else ""
        answer = self.proxy(f"/transcripts/{platform}/{native_id}{params}")
        if not answer.is_success:
            raise DashboardError(f"HTTP {answer.status_code}: {answer.text[:200]}")
        return answer.json()

    @staticmethod
    def playable(recordings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The meeting page shows a player for these only (src/app/meetings/[id]/page.tsx)."""
        return [
            r
            for r in recordings
            if r["status"] in ("completed", "in_progress") and r["playback_url"]["audio"]
        ]

    def master_stream_url(self, recording_id: int, kind: str) -> tuple[str, float] | None:
        """getRecordingMasterStreamUrl: None on 404 ("finalizing"), an error on any other failure."""
        answer = self.proxy(f"/recordings/{recording_id}/master?type={kind}")
        if answer.status_code == 404:
            return None
        if not answer.is_success:
            raise DashboardError(f"getRecordingMasterStreamUrl failed: HTTP {answer.status_code}")
        data = answer.json()
        media_url = data.get("raw_url") or data.get("url") or data.get("download_url")
        if not media_url:
            raise DashboardError("getRecordingMasterStreamUrl response had no url")
        url = media_url if re.match(r"^https?://", media_url) else PROXY + media_url
        return url, data.get("duration_seconds") or 0

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """What the <audio> element's request becomes: through the proxy, or straight to storage."""
        if url.startswith(PROXY):
            return self.proxy(url.removeprefix(PROXY), headers)
        return httpx.get(url, headers=headers, timeout=30)

    def proxied_master_url(self, recording_id: int, kind: str) -> str:
        """The proxy's `?proxy=1` rule for a master answer: `url || download_url`; a relative one
        must start with `/recordings/<id>/media/` (else 502); an absolute one on localhost is
        replaced by `raw_url`."""
        data = self.proxy(f"/recordings/{recording_id}/master?type={kind}").json()
        url = data.get("url") or data.get("download_url")
        if not url:
            raise DashboardError("404: no url")
        if not re.match(r"^https?://", url):
            if not url.startswith(f"/recordings/{recording_id}/media/"):
                raise DashboardError(f"502: unexpected relative url {url}")
            return PROXY + url
        if urlsplit(url).hostname in ("localhost", "127.0.0.1"):
            return PROXY + (
                data.get("raw_url") or f"/recordings/{recording_id}/media/{data['media_file_id']}/raw"
            )
        return url
