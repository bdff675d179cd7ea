"""Helpers for the deployment-file tests: the repository root, the port Lite listens on, and the names
.env.example sets (commented out or not)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8056


def env_example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names
