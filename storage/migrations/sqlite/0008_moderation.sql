-- A ban may run out by itself, says why it was made, and remembers the
-- Block the group sent, which is undone when the ban is lifted.
ALTER TABLE memberships ADD COLUMN ban_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN ban_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN block_id TEXT NOT NULL DEFAULT '';
CREATE INDEX memberships_ban_expiry ON memberships (ban_expires_at) WHERE ban_expires_at > 0;

-- A moderator names a post by the address they copied, which is often its
-- web page rather than its id; and a post may be pinned to the group's
-- profile.
ALTER TABLE posts ADD COLUMN url TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX posts_by_url ON posts (url) WHERE url != '';
CREATE INDEX posts_pinned ON posts (group_id, pinned_at) WHERE pinned_at > 0;

-- Reports (Flags) about a group, one of its members or a post it shared.
-- Reports from one server about the same thing are merged into one row.
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    group_id      INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    reporter_host TEXT    NOT NULL,
    account       TEXT    NOT NULL DEFAULT '',
    comment       TEXT    NOT NULL DEFAULT '',
    flags         INTEGER NOT NULL DEFAULT 1,
    state         TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolved_by   TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX reports_open ON reports (group_id, reporter_host) WHERE state = 'open';

CREATE TABLE report_posts (
    report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    post_id   INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (report_id, post_id)
);
CREATE INDEX report_posts_by_post ON report_posts (post_id);

-- Every moderation action, by whom, on what, and why.
CREATE TABLE moderation_log (
    id         INTEGER PRIMARY KEY,
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    done_by    TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX moderation_log_by_group ON moderation_log (group_id, id);

-- People who sent a group a moderator's command without being one: they
-- are told so once, never again.
CREATE TABLE command_refusals (
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    actor_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, actor_id)
);
