-- Direct messages a group sent to one person about a post: a moderator told
-- that an anonymous post waits, an author told what became of it. A reply
-- to one of them is matched to its post here.
CREATE TABLE notices (
    note_id     TEXT    PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    post_id     INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    recipient   TEXT    NOT NULL,
    activity_id TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX notices_by_post ON notices (post_id);

-- Replies and fetches name the group's copy of a post, not the member's.
CREATE INDEX posts_by_copy ON posts (copy_id);
