"""The `python -m lite import-vexa` command: a dry run changes nothing and a second run imports nothing,
users exported from Vexa (--users) are found by email under their Vexa ids, a users file that is not
id,email rows stops the import naming the line, and --from-bucket needs Lite on object storage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lite.config import Settings
from lite.services import build_services
from tests.maintenancekit import run_cli
from tests.vexaimportkit import (
    SINGLE,
    USER_A,
    USER_B,
    WAV_CHUNKS,
    contents,
    put_all,
    vexa_objects,
)


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_the_command_dry_run_changes_nothing_and_a_second_run_imports_nothing(
    settings: Settings, env: dict[str, str]
) -> None:
    services = await build_services(settings)
    await put_all(services.storage, vexa_objects())
    before = await contents(services.storage)
    await services.aclose()

    dry = run_cli(env, "import-vexa", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert (
        "would import 5" in dry.stdout and f"recordings/{USER_B}/{WAV_CHUNKS}/: import session" in dry.stdout
    )
    services = await build_services(settings)
    try:
        assert await contents(services.storage) == before
        assert services.index.get_recording_by_id(SINGLE) is None and services.index.get_user(USER_A) is None
    finally:
        await services.aclose()

    first = run_cli(env, "import-vexa")
    assert first.returncode == 0, first.stderr
    assert "imported 5" in first.stdout and "failed 0" in first.stdout
    second = run_cli(env, "import-vexa")
    assert second.returncode == 0, second.stderr
    assert "imported 0" in second.stdout and "skipped 5: already in Lite" in second.stdout


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_users_exported_from_vexa_are_found_by_email_under_their_vexa_ids(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    services = await build_services(settings)
    await put_all(services.storage, vexa_objects())
    await services.auth.adopt_user(USER_B)  # Vexa's bot sent a chunk before the import: a placeholder
    await services.aclose()
    users = tmp_path / "users.csv"
    users.write_text(f"id,email,name\n{USER_A},Ada@Example.com,Ada\n{USER_B},bob@example.com,\n")

    done = run_cli(env, "import-vexa", "--users", str(users))
    assert done.returncode == 0, done.stderr
    assert "users from --users: 1 created, 1 named; 0 refused" in done.stdout
    services = await build_services(settings)
    try:
        ada = await services.auth.find_user_by_email("ada@example.com")
        bob = await services.auth.find_user_by_email("bob@example.com")
        assert ada and bob and (ada.id, ada.name, bob.id) == (USER_A, "Ada", USER_B)
        assert services.index.get_recording(USER_A, SINGLE) is not None
    finally:
        await services.aclose()


@pytest.mark.parametrize("backend", ["local"])
def test_a_users_file_that_is_not_id_email_rows_stops_the_import_naming_the_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_text("id,email\n7,a@example.com\nseven,b@example.com\n")
    done = run_cli(env, "import-vexa", "--users", str(users))
    assert done.returncode != 0 and "line 3" in done.stderr + done.stdout


@pytest.mark.parametrize("backend", ["local"])
def test_another_bucket_needs_lite_on_object_storage(env: dict[str, str]) -> None:
    done = run_cli(env, "import-vexa", "--from-bucket", "vexa")
    assert done.returncode != 0 and "--from-bucket needs Lite on minio or s3" in done.stderr + done.stdout
