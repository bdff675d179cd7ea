"""`import-vexa --users FILE`: Vexa's users by id and email, so its dashboard (which logs in by email)
finds the user its recordings belong to. Vexa keeps users in Postgres, not in the bucket; export them
with

    psql "$DATABASE_URL" -c "\\copy (SELECT id, email, name FROM users ORDER BY id) TO 'users.csv' CSV HEADER"

Each row is `id,email[,name]`; a header row, blank lines and `#` comments are skipped.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from lite.config import ConfigError
from lite.errors import LiteError
from lite.services import Services

MAX_USERS = 1_000_000


def read_users(path: Path) -> list[tuple[int, str, str | None]]:
    """The file's users; ConfigError naming the line for anything that is not a user row."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--users {path}: cannot be read ({exc})") from None
    users = []
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if number == 1 and not row[0].strip().isdigit():
            continue  # the header
        if len(row) < 2 or not row[0].strip().isdigit() or not 0 < int(row[0]) < 2**63:
            raise ConfigError(f"--users {path} line {number}: expected id,email[,name], got {row[:3]!r}")
        name = row[2].strip() if len(row) > 2 and row[2].strip() else None
        users.append((int(row[0]), row[1].strip(), name))
        if len(users) > MAX_USERS:
            raise ConfigError(f"--users {path}: more than {MAX_USERS} users")
    return users


async def name_users(services: Services, users: list[tuple[int, str, str | None]], dry_run: bool) -> str:
    """Create or name each user; one line saying what happened (refusals with their reasons)."""
    outcome: Counter[str] = Counter()
    refused = []
    for user_id, email, name in users:
        if dry_run:
            outcome["to create or name"] += 1
            continue
        try:
            outcome[await services.auth.name_user(user_id, email, name)] += 1
        except LiteError as exc:
            refused.append(f"  user {user_id}: {exc.detail}")
    counts = ", ".join(f"{n} {what}" for what, n in sorted(outcome.items())) or "none"
    return "\n".join([f"users from --users: {counts}; {len(refused)} refused", *refused[:50]])
