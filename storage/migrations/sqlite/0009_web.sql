-- The instance as its home page presents it. One row, made on first save.
CREATE TABLE instance_profile (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);

-- What a group's web pages show beyond the profile it federates. A group
-- without a row has the defaults: no rules, unlisted if private,
-- moderators not named, pages not indexed.
CREATE TABLE group_pages (
    group_id        INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    rules           TEXT    NOT NULL DEFAULT '',
    listed          INTEGER NOT NULL DEFAULT 0,
    show_moderators INTEGER NOT NULL DEFAULT 0,
    indexable       INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);

-- Icons uploaded in the admin console, served by the instance itself.
CREATE TABLE group_icons (
    group_id   INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    media_type TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The people who run the instance from the admin console.
CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Signed-in console sessions, by the SHA-256 of the cookie's token: a copy
-- of the database does not sign anyone in.
CREATE TABLE admin_sessions (
    token_hash BLOB    PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Delivery attempts counted by hour, for the console's chart: one row an
-- hour, whatever the traffic, and only the last days are kept.
CREATE TABLE delivery_hours (
    hour      INTEGER PRIMARY KEY,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0
);

-- A group's web page lists its relayed posts with their reply counts.
CREATE INDEX posts_by_parent ON posts (group_id, in_reply_to) WHERE state = 'relayed';
