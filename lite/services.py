"""Wiring: build every service from the settings, checking what must work before serving."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from lite.accounts.auth import Auth, ensure_admin_token
from lite.accounts.bot_auth import BotCredentials
from lite.accounts.keyfiles import ensure_secret
from lite.accounts.playback_tokens import PlaybackTokens
from lite.catalog.index import Index
from lite.catalog.manifests import Catalog, RebuildProgress
from lite.config import ConfigError, Settings
from lite.errors import LiteError
from lite.media.waveform import Waveforms
from lite.ops.metrics import Metrics
from lite.recordings.meetings import Meetings
from lite.recordings.service import Recordings
from lite.sessions.bot_uploads import BotUploads
from lite.sessions.finalize import Finalizer
from lite.sessions.finalize_queue import FinalizeQueue
from lite.sessions.locks import SessionLocks
from lite.sessions.webhooks import Notifier
from lite.storage import Storage, make_storage

log = logging.getLogger("lite")


@dataclass
class Services:
    settings: Settings
    index: Index
    storage: Storage
    auth: Auth
    catalog: Catalog
    recordings: Recordings
    meetings: Meetings
    finalizer: Finalizer
    finalize_queue: FinalizeQueue
    notifier: Notifier
    bot_uploads: BotUploads
    tokens: PlaybackTokens
    waveforms: Waveforms
    bot_credentials: BotCredentials
    metrics: Metrics  # this app's Prometheus registry (GET /metrics)

    rebuild: RebuildProgress = field(default_factory=RebuildProgress)

    async def rebuild_if_empty(self) -> None:
        """The index is a cache of the storage catalog: an empty one (a new disk) is refilled before
        the server calls itself ready; until then /readyz says 503 with the progress. A rebuild that
        fails leaves the server not ready (requests answer 503) until a later try succeeds: a
        partial index must never look complete."""
        if not self.rebuild.running and not self.index.is_empty():
            return
        self.rebuild.restart()
        try:
            await self.catalog.rebuild(self.rebuild)
        except Exception as exc:
            if isinstance(exc, LiteError):
                self.rebuild.error = exc.detail
                log.error("index rebuild failed: %s", exc.detail)
            else:
                self.rebuild.error = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("index rebuild failed")
            raise
        self.rebuild.running, self.rebuild.error, self.rebuild.done = False, None, True
        log.info(
            "index rebuilt from storage: %d users, %d keys, %d recordings",
            self.rebuild.users,
            self.rebuild.api_keys,
            self.rebuild.recordings,
        )

    async def aclose(self) -> None:
        await self.finalize_queue.aclose()  # its workers use storage and the index
        await self.storage.aclose()
        self.index.close()


def _writable_dir(path: os.PathLike[str], variable: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{variable}={path} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{variable}={path} is not writable by this user (uid {os.getuid()})")


def _private(data_dir: Path) -> None:
    """The index and the server's secrets are the server's alone: 0600 files in a 0700 directory,
    also for a data directory made by an earlier version (or by hand) with looser modes."""
    with contextlib.suppress(OSError):  # not ours to change (another owner): the start goes on
        data_dir.chmod(0o700)
        for path in data_dir.glob("lite.db*"):
            path.chmod(0o600)


async def open_storage(settings: Settings, metrics: Metrics | None = None) -> Storage:
    """The configured backend, checked as at start (a missing MinIO bucket is created); raises
    ConfigError naming the variable. `migrate` opens its target through this too (no `metrics`)."""
    if settings.storage_backend == "local":
        _writable_dir(settings.local_storage_dir, "LOCAL_STORAGE_DIR")
    storage = make_storage(settings, metrics)
    try:
        await storage.prepare()
    except LiteError as exc:
        variable = "LOCAL_STORAGE_DIR" if settings.storage_backend == "local" else _bucket_variable(settings)
        raise ConfigError(f"{variable}: {exc.detail}") from None
    return storage


async def build_services(settings: Settings) -> Services:
    """Raises ConfigError, naming the variable, for anything that stops the server from working."""
    _writable_dir(settings.data_dir, "DATA_DIR")
    metrics = Metrics()
    storage = await open_storage(settings, metrics)
    index = Index(settings.index_path)
    metrics.watch(index)
    _private(settings.data_dir)
    admin_token = ensure_admin_token(settings.admin_api_token, settings.data_dir)
    catalog = Catalog(storage, index)
    auth = Auth(index, catalog, admin_token)
    webhook_secret = ensure_secret(
        settings.webhook_secret, settings.data_dir / "webhook-secret", "WEBHOOK_SECRET"
    )
    notifier = Notifier(settings, index, webhook_secret)  # queues into the index's outbox
    playback_key = ensure_secret(
        settings.playback_signing_key, settings.data_dir / "playback-signing-key", "PLAYBACK_SIGNING_KEY"
    )
    locks = SessionLocks()
    finalizer = Finalizer(settings, catalog, notifier, locks, metrics)
    finalize_queue = FinalizeQueue(
        finalizer, index, catalog, settings.finalize_workers, settings.finalize_queue_max
    )
    return Services(
        settings=settings,
        index=index,
        storage=storage,
        auth=auth,
        catalog=catalog,
        recordings=Recordings(settings, catalog, locks),
        meetings=Meetings(index, catalog),
        finalizer=finalizer,
        notifier=notifier,
        finalize_queue=finalize_queue,
        bot_uploads=BotUploads(settings, catalog, finalize_queue),
        tokens=PlaybackTokens(playback_key, settings.playback_token_seconds, auth),
        waveforms=Waveforms(storage),
        bot_credentials=BotCredentials(
            auth, settings.meeting_token_secret or admin_token, settings.internal_api_secret
        ),
        metrics=metrics,
    )


def _bucket_variable(settings: Settings) -> str:
    assert settings.s3 is not None
    bucket = f"{settings.s3.bucket_variable}={settings.s3.bucket}"
    if settings.storage_backend == "minio":
        return f"{settings.s3.endpoint_variable}={settings.s3.endpoint} / {bucket}"
    return bucket
