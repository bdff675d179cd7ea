"""axe-core finds no serious or critical accessibility violation on the page, in light and dark, with
the list, the player and the sign-in form on screen.

axe-core comes from the npm registry into tests/player/axe/node_modules (`npm ci` there; the test set-up
installs it) and is injected from that file: no CDN. Without it the test is skipped, saying so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.mediakit import wav_bytes
from tests.playerkit import DESKTOP, Page, speechy_wav, upload

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
}"""


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.pw.add_script_tag(path=str(AXE))
    return list(page.js(RUN_AXE))


@pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed: run `npm ci` in {AXE.parents[2]}")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation(
    browser: Any, server: LiveServer, key: str, api_for: Any, scheme: str
) -> None:
    api = api_for(key)
    upload(api, wav_bytes(1.0), "intro.wav", meeting_id="4711")
    upload(api, speechy_wav(), "weekly.wav", meeting_id="weekly-sync")
    # The page's CSP (rightly) refuses injected scripts: the test context lets axe in.
    context = browser.new_context(viewport=DESKTOP, color_scheme=scheme, bypass_csp=True)
    try:
        page = Page(context.new_page(), server.url)
        page.pw.goto(server.url + "/")
        page.pw.wait_for_selector("#sign-in:not([hidden])")
        found = serious_violations(page)
        assert found == [], json.dumps(found, indent=1)
        page.sign_in(key)
        page.play_first()
        page.pw.wait_for_selector("#waveform-box:not([hidden])")
        page.js("() => document.querySelector('#player-audio').pause()")
        found = serious_violations(page)
        assert found == [], json.dumps(found, indent=1)
    finally:
        context.close()
