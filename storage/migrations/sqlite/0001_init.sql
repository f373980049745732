-- Groups hosted on this instance, each with its own RSA key. Ids are never
-- reused: delivery workers know a group's signing key by its id.
CREATE TABLE groups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL UNIQUE,
    display_name     TEXT    NOT NULL DEFAULT '',
    summary          TEXT    NOT NULL DEFAULT '',
    icon_url         TEXT    NOT NULL DEFAULT '',
    visibility       TEXT    NOT NULL DEFAULT 'public'  CHECK (visibility IN ('public', 'private')),
    join_policy      TEXT    NOT NULL DEFAULT 'open'    CHECK (join_policy IN ('open', 'approval', 'closed')),
    posting          TEXT    NOT NULL DEFAULT 'members' CHECK (posting IN ('members', 'moderators')),
    anonymous_posts  INTEGER NOT NULL DEFAULT 0,
    hide_member_count INTEGER NOT NULL DEFAULT 0,
    content_warning  TEXT    NOT NULL DEFAULT '',
    private_key_pem  TEXT    NOT NULL,
    public_key_pem   TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- The instance actor's key, made once on first start.
CREATE TABLE instance_key (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    private_key_pem TEXT    NOT NULL,
    public_key_pem  TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

-- Remote actors we have fetched: where to deliver and which key they sign with.
CREATE TABLE actors (
    id             TEXT    PRIMARY KEY,
    type           TEXT    NOT NULL DEFAULT '',
    host           TEXT    NOT NULL,
    username       TEXT    NOT NULL DEFAULT '',
    name           TEXT    NOT NULL DEFAULT '',
    inbox          TEXT    NOT NULL,
    shared_inbox   TEXT    NOT NULL DEFAULT '',
    key_id         TEXT    NOT NULL DEFAULT '',
    public_key_pem TEXT    NOT NULL DEFAULT '',
    fetched_at     INTEGER NOT NULL
);
CREATE INDEX actors_by_key ON actors (key_id);
CREATE INDEX actors_by_host ON actors (host, username);

-- Who belongs to which group. A remote actor's membership starts with its Follow.
CREATE TABLE memberships (
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    actor_id   TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'member', 'banned')),
    follow_id  TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, actor_id)
);
CREATE INDEX memberships_by_actor ON memberships (actor_id);

CREATE TABLE moderators (
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    actor_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, actor_id)
);

-- Posts that reached a group, relayed or held, with what the web page shows.
CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    group_id     INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    object_id    TEXT    NOT NULL,
    author_id    TEXT    NOT NULL,
    activity_id  TEXT    NOT NULL,
    copy_id      TEXT    NOT NULL DEFAULT '',
    in_reply_to  TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL CHECK (state IN ('relayed', 'held', 'removed', 'declined')),
    anonymous    INTEGER NOT NULL DEFAULT 0,
    summary      TEXT    NOT NULL DEFAULT '',
    content      TEXT    NOT NULL DEFAULT '',
    raw_activity BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (group_id, object_id)
);
CREATE INDEX posts_by_object ON posts (object_id);

-- Activities this instance sent, stored once and referenced by every delivery.
CREATE TABLE activities (
    id         TEXT    PRIMARY KEY,
    group_id   INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    post_id    INTEGER REFERENCES posts (id) ON DELETE SET NULL,
    type       TEXT    NOT NULL,
    in_outbox  INTEGER NOT NULL DEFAULT 0,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX activities_outbox ON activities (group_id, in_outbox, created_at);

-- One row per activity and target inbox.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    activity_id     TEXT    NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox           TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at) WHERE state = 'queued';

-- Hosts that keep failing wait here instead of keeping workers busy.
CREATE TABLE hosts (
    host             TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL DEFAULT 0,
    unreachable_since INTEGER NOT NULL DEFAULT 0,
    retry_at         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    last_success_at  INTEGER NOT NULL DEFAULT 0
);

-- Activity ids already processed, so a redelivery changes nothing.
CREATE TABLE seen_activities (
    id          TEXT    PRIMARY KEY,
    received_at INTEGER NOT NULL
);
