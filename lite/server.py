"""Starting the server: settings, checks, then uvicorn. Bad settings end in one line, no traceback."""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn

from lite.config import ConfigError, load_settings
from lite.services import build_services
from lite.web import create_app


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
    )
