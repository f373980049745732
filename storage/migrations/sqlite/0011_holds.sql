-- What a group holds for a moderator before relaying it: nothing, the
-- posts of new members, or everything; and what it does with a post from
-- someone who is not a member. Whatever the setting, a post that mentions
-- more than hold_mentions groups is held.
ALTER TABLE groups ADD COLUMN hold TEXT NOT NULL DEFAULT 'none' CHECK (hold IN ('none', 'new', 'all'));
ALTER TABLE groups ADD COLUMN hold_days INTEGER NOT NULL DEFAULT 7;
ALTER TABLE groups ADD COLUMN hold_posts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE groups ADD COLUMN hold_mentions INTEGER NOT NULL DEFAULT 3;
ALTER TABLE groups ADD COLUMN non_members TEXT NOT NULL DEFAULT 'refuse' CHECK (non_members IN ('refuse', 'hold'));
-- Join screening: the questions put to whoever asks to join, one a line,
-- and the servers whose people join without them, one a line.
ALTER TABLE groups ADD COLUMN questions TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN trusted_domains TEXT NOT NULL DEFAULT '';

-- A held post keeps the object it relays once released, which a Create
-- may only have named, and why it was held.
ALTER TABLE posts ADD COLUMN held_object BLOB NOT NULL DEFAULT x'';
ALTER TABLE posts ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX posts_held ON posts (state, created_at) WHERE state = 'held';

-- When an account says it was made.
ALTER TABLE actors ADD COLUMN published INTEGER NOT NULL DEFAULT 0;

-- When a member became one, and a pending request's answer to the
-- group's questions.
ALTER TABLE memberships ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN answer TEXT NOT NULL DEFAULT '';
UPDATE memberships SET joined_at = updated_at WHERE state = 'member';
