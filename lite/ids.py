"""Random public ids: positive, unguessable, and exact in JavaScript (below 2**53)."""

from __future__ import annotations

import secrets

MAX_ID = 2**53 - 1


def new_id() -> int:
    return secrets.randbelow(MAX_ID) + 1
