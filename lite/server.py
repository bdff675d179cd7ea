"""Starting the server: settings, checks, then uvicorn. Bad settings end in one line, no traceback."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import sys
from typing import Any

import uvicorn

from lite.config import ConfigError, load_settings
from lite.services import build_services
from lite.web import create_app

TOKEN_IN_QUERY = re.compile(r"([?&])token=[^&\s]*")


class RedactTokens(logging.Filter):
    """Access-log lines show paths; playback URLs carry a credential in `?token=`, never logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            path = TOKEN_IN_QUERY.sub(r"\1token=[redacted]", record.args[2])
            record.args = (*record.args[:2], path, *record.args[3:])
        return True


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config


def main() -> None:
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        services = asyncio.run(build_services(settings))
    except ConfigError as exc:
        print(f"lite: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    logging.getLogger("lite").info(
        "serving on http://%s:%d with %s storage, data in %s",
        settings.host,
        settings.port,
        settings.storage_backend,
        settings.data_dir,
    )
    uvicorn.run(
        create_app(services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        proxy_headers=False,
        server_header=False,
        log_config=log_config(),
    )
