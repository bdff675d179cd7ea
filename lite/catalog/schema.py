"""The index's tables, indexes and count triggers, applied at every open (all idempotent).

A change to an index takes a new name and drops the old one, so that an index file made by an
earlier version gets it at its next start.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    session_uid TEXT NOT NULL,
    meeting_id TEXT,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_by_user ON recordings (user_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS recordings_by_status ON recordings (user_id, status, created_at DESC, id DESC);
-- A filter's index must also hold the sort order: with (user_id, session_uid) alone SQLite read the
-- user's recordings newest first through recordings_by_user until one matched, all of them for a
-- new session (12 ms a look-up at 50,000 recordings, on every bot's first chunk).
DROP INDEX IF EXISTS recordings_by_session;
DROP INDEX IF EXISTS recordings_by_meeting;
CREATE INDEX IF NOT EXISTS recordings_by_session_time
    ON recordings (user_id, session_uid, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS recordings_by_meeting_time
    ON recordings (user_id, meeting_id, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS media_files (
    id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    format TEXT NOT NULL,
    content_type TEXT NOT NULL,
    storage_backend TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    file_size_bytes INTEGER NOT NULL DEFAULT 0,
    duration_seconds REAL,
    sha256 TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    extra TEXT,
    state TEXT NOT NULL DEFAULT 'complete',  -- 'receiving' while a bot sends chunks
    final_seq INTEGER,
    UNIQUE (recording_id, type)
);
CREATE TABLE IF NOT EXISTS chunks (
    media_id INTEGER NOT NULL REFERENCES media_files(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    storage_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    is_final INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (media_id, seq)
) WITHOUT ROWID;
-- Vexa's bot authenticates without a user key: the session's recording is found by its id alone.
CREATE INDEX IF NOT EXISTS recordings_by_session_only ON recordings (session_uid, created_at DESC);
-- Objects of deleted recordings that storage has not confirmed deleted yet (it failed half-way):
-- tried again in the background until storage is clean (lite.background).
CREATE TABLE IF NOT EXISTS pending_deletes (
    storage_key TEXT PRIMARY KEY,
    since TEXT NOT NULL
) WITHOUT ROWID;
-- Webhook events not yet delivered (an outbox): they survive restarts and crashes, and are retried
-- on Vexa's schedule until delivered or 24 h old (lite.sessions.webhooks).
CREATE TABLE IF NOT EXISTS webhook_outbox (
    event_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (next_at);
CREATE INDEX IF NOT EXISTS recordings_in_progress ON recordings (status, updated_at)
    WHERE status = 'in_progress';
CREATE TABLE IF NOT EXISTS recording_counts (
    user_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (user_id, status)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS count_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO recording_counts (user_id, status, n) VALUES (NEW.user_id, NEW.status, 1)
    ON CONFLICT (user_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS count_delete AFTER DELETE ON recordings BEGIN
    UPDATE recording_counts SET n = n - 1 WHERE user_id = OLD.user_id AND status = OLD.status;
END;
CREATE TRIGGER IF NOT EXISTS count_status AFTER UPDATE OF status ON recordings
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE recording_counts SET n = n - 1 WHERE user_id = OLD.user_id AND status = OLD.status;
    INSERT INTO recording_counts (user_id, status, n) VALUES (NEW.user_id, NEW.status, 1)
    ON CONFLICT (user_id, status) DO UPDATE SET n = n + 1;
END;
"""

# Columns added after the first release: an index file made by an earlier version gets them at its
# next start (ALTER TABLE ... ADD COLUMN, when PRAGMA table_info lacks them).
ADDED_COLUMNS = {
    "recordings": (
        ("platform", "TEXT"),  # the meeting's platform (google_meet, teams, zoom), from Vexa's token
        ("native_meeting_id", "TEXT"),  # the platform's own meeting id, from Vexa's token
        ("error_message", "TEXT"),  # why a recording failed, or how it was kept when not playable
        ("title", "TEXT"),  # what people call it: the uploaded file's name, a bot's, or a rename
    ),
    # Vexa's user fields: the dashboard reads them, and `data` holds the per-user webhook settings.
    "users": (
        ("image_url", "TEXT"),
        ("max_concurrent_bots", "INTEGER NOT NULL DEFAULT 3"),
        ("data", "TEXT NOT NULL DEFAULT '{}'"),  # a JSON object, merged by PATCH /admin/users/{id}
    ),
    # Vexa's token fields: scopes (bot, tx, browser) decide what a key may do (lite.accounts.scopes).
    "api_keys": (
        ("scopes", "TEXT NOT NULL DEFAULT ''"),  # comma-separated; '' = a key made before scopes: full access
        ("name", "TEXT"),
        ("expires_at", "TEXT"),
        ("last_used_at", "TEXT"),
    ),
}

# Indexes on added columns: created after ADDED_COLUMNS, so an older index file has the columns first.
LATER_INDEXES = (
    """
CREATE INDEX IF NOT EXISTS recordings_by_native_meeting
    ON recordings (user_id, platform, native_meeting_id, created_at DESC);
"""
    + """
-- Search (GET /recordings?q=): a full-text index over title, meeting id and session uid, holding
-- only tokens and rowids (external content: the text stays in `recordings`), kept in step by
-- triggers. An INSERT OR REPLACE (the rebuild's bulk insert) fires the DELETE trigger for the row it
-- replaces because sqlite-utils turns on recursive_triggers (else the index would get duplicates).
-- The owner is indexed too, so a user's matches are counted inside the index (5-10x faster than
-- looking each match up in `recordings`: bench/search_index.py).
CREATE VIRTUAL TABLE IF NOT EXISTS recordings_fts USING fts5(
    title, meeting_id, session_uid, user_id,
    content='recordings', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS recordings_fts_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO recordings_fts (rowid, title, meeting_id, session_uid, user_id)
        VALUES (NEW.id, NEW.title, NEW.meeting_id, NEW.session_uid, NEW.user_id);
END;
CREATE TRIGGER IF NOT EXISTS recordings_fts_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO recordings_fts (recordings_fts, rowid, title, meeting_id, session_uid, user_id)
        VALUES ('delete', OLD.id, OLD.title, OLD.meeting_id, OLD.session_uid, OLD.user_id);
END;
CREATE TRIGGER IF NOT EXISTS recordings_fts_update AFTER UPDATE OF title, meeting_id, session_uid, user_id
ON recordings BEGIN
    INSERT INTO recordings_fts (recordings_fts, rowid, title, meeting_id, session_uid, user_id)
        VALUES ('delete', OLD.id, OLD.title, OLD.meeting_id, OLD.session_uid, OLD.user_id);
    INSERT INTO recordings_fts (rowid, title, meeting_id, session_uid, user_id)
        VALUES (NEW.id, NEW.title, NEW.meeting_id, NEW.session_uid, NEW.user_id);
END;
-- An index file made before search gets its existing recordings indexed once, at its next start;
-- the version lets a later change of columns or tokenizer rebuild again.
CREATE TABLE IF NOT EXISTS search_built (version INTEGER NOT NULL);
INSERT INTO recordings_fts (recordings_fts)
    SELECT 'rebuild' WHERE NOT EXISTS (SELECT 1 FROM search_built WHERE version = 1);
DELETE FROM search_built WHERE version <> 1;
INSERT INTO search_built (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM search_built);
"""
)
