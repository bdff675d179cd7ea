"""The player page is served at / with headers that lock it down, and has nothing inline for CSP to block."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.fixture
def backend() -> str:
    return "local"  # the page does not depend on storage


@pytest.fixture
def page(server: LiveServer) -> httpx.Response:
    return httpx.get(server.url + "/")


def csp_directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_the_page_is_html_at_the_root(page: httpx.Response) -> None:
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in page.text


def test_the_csp_allows_only_the_servers_own_scripts(page: httpx.Response) -> None:
    directives = csp_directives(page)
    assert directives["script-src"] == "script-src 'self'"
    assert directives["default-src"] == "default-src 'none'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_the_page_cannot_be_framed_sniffed_or_leak_referrers(page: httpx.Response) -> None:
    assert csp_directives(page)["frame-ancestors"] == "frame-ancestors 'none'"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(("name", "content_type"), [("app.js", "text/javascript"), ("app.css", "text/css")])
def test_static_files_are_served_with_their_type_and_nosniff(
    server: LiveServer, name: str, content_type: str
) -> None:
    answer = httpx.get(f"{server.url}/static/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(content_type)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.content == (STATIC / name).read_bytes()


class InlineFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [f"{name}= on <{tag}>" for name in names if name == "style" or name.startswith("on")]
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append("script body")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_page_has_no_inline_script_or_style() -> None:
    finder = InlineFinder()
    finder.feed((STATIC / "index.html").read_text())
    assert finder.found == []


def test_the_inline_finder_does_catch_inline_code() -> None:
    finder = InlineFinder()
    finder.feed('<script>alert(1)</script><p style="x" onclick="y"></p>')
    assert sorted(finder.found) == ["<script> without src", "onclick= on <p>", "script body", "style= on <p>"]


def test_the_favicon_is_the_servers_own(server: LiveServer, page: httpx.Response) -> None:
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    answer = httpx.get(f"{server.url}/static/favicon.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")


def test_the_page_is_small_and_loads_nothing_from_elsewhere() -> None:
    files = [STATIC / "index.html", STATIC / "app.js", STATIC / "app.css"]
    assert sum(path.stat().st_size for path in files[1:]) <= 200_000  # JS + CSS, no framework
    for path in files:
        text = path.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name
