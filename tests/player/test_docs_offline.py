"""The API docs at /docs render with no network beyond the server: Swagger UI's files are the server's own.

Every request to another host is aborted (as on a machine without internet); the page must still
draw the operations, and no request may even try to leave.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import LiveServer
from tests.playerkit import DESKTOP, Page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/docs", "/docs/swagger"])
def test_the_api_docs_render_with_every_other_host_blocked(
    browser: Any, server: LiveServer, path: str
) -> None:
    own = urlsplit(server.url).netloc
    elsewhere: list[str] = []

    def only_the_server(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    context = browser.new_context(viewport=DESKTOP)
    try:
        context.route("**/*", only_the_server)
        page = Page(context.new_page(), server.url)
        page.pw.goto(server.url + path)
        page.pw.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
        assert page.pw.locator(".swagger-ui .opblock").count() > 5
        assert "Lite" in page.pw.inner_text(".swagger-ui .info")
        if path == "/docs":
            page.screenshot("docs-offline.png")
        assert elsewhere == []
    finally:
        context.close()


def test_the_docs_pages_name_no_other_host(server: LiveServer) -> None:
    for path in ("/docs", "/docs/swagger"):
        html = httpx.get(server.url + path).text
        assert "http://" not in html and "https://" not in html, path
    schema = httpx.get(server.url + "/docs/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Lite"
    asset = httpx.get(server.url + "/docs-assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
