"""The access log: a line per request by default, none with ACCESS_LOG=false (the server as users
run it, its output read back)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.procserver import ServerProcess


@pytest.mark.parametrize(("setting", "lines"), [(None, 1), ("false", 0)], ids=["default", "off"])
def test_each_request_is_one_access_log_line_unless_turned_off(
    tmp_path: Path, setting: str | None, lines: int
) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "ADMIN_API_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "info"}
    if setting is not None:
        env["ACCESS_LOG"] = setting
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200  # (start() polls /readyz)
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert log.count('"GET /healthz HTTP/1.1" 200') == lines
    assert "serving on http://" in log  # the server's own info lines stay either way
