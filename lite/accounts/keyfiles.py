"""Server secrets that are generated on first start when not configured, and kept in $DATA_DIR
(mode 0600) so a restart keeps them. Their values are never logged, only where they are."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from lite.config import ConfigError

log = logging.getLogger("lite.accounts.keyfiles")


def ensure_secret(configured: str | None, path: Path, variable: str) -> str:
    if configured:
        return configured
    if path.exists():
        try:
            value = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "it is not a text secret"
            raise ConfigError(
                f"{variable}: {path} cannot be read ({reason}); set {variable} or remove the file"
            ) from None
        if value:
            return value
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    log.warning("%s is not set: generated one and stored it in %s (mode 0600)", variable, path)
    return value
