-- Each membership carries its member's delivery inbox (the shared inbox of
-- their server, or their own inbox when it has none; '' while the actor is
-- not cached), kept up to date from actors by the triggers below. An index
-- of it lets a fan-out walk a group's distinct inboxes in order, one index
-- seek per inbox, instead of reading the whole roster at once.
ALTER TABLE memberships ADD COLUMN inbox TEXT NOT NULL DEFAULT '';
UPDATE memberships SET inbox = coalesce((SELECT CASE WHEN a.shared_inbox != '' THEN a.shared_inbox ELSE a.inbox END
    FROM actors a WHERE a.id = memberships.actor_id), '');
CREATE INDEX memberships_by_inbox ON memberships (group_id, inbox) WHERE state = 'member';

CREATE TRIGGER memberships_inbox_on_join AFTER INSERT ON memberships BEGIN
    UPDATE memberships SET inbox = coalesce((SELECT CASE WHEN a.shared_inbox != '' THEN a.shared_inbox ELSE a.inbox END
        FROM actors a WHERE a.id = NEW.actor_id), '')
    WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER memberships_inbox_on_new_actor AFTER INSERT ON actors BEGIN
    UPDATE memberships SET inbox = CASE WHEN NEW.shared_inbox != '' THEN NEW.shared_inbox ELSE NEW.inbox END
    WHERE actor_id = NEW.id;
END;

CREATE TRIGGER memberships_inbox_on_moved_inbox AFTER UPDATE OF inbox, shared_inbox ON actors
WHEN OLD.inbox IS NOT NEW.inbox OR OLD.shared_inbox IS NOT NEW.shared_inbox BEGIN
    UPDATE memberships SET inbox = CASE WHEN NEW.shared_inbox != '' THEN NEW.shared_inbox ELSE NEW.inbox END
    WHERE actor_id = NEW.id;
END;

CREATE TRIGGER memberships_inbox_on_forgotten_actor AFTER DELETE ON actors BEGIN
    UPDATE memberships SET inbox = '' WHERE actor_id = OLD.id;
END;

-- An activity for all of a group's members, queued with what caused it and
-- expanded into deliveries later by the delivery engine, a batch of inboxes
-- at a time, so that accepting a post does not grow with the group. form
-- says which servers get the activity (federation decides; storage only
-- keeps the name). The first pass writes the deliveries of every server for
-- which the activity is its first form; second_pass records that some
-- server gets it as a second form, which a second pass over the roster
-- writes once no fan-out has first forms left to expand. cursor is the last
-- inbox expanded in the current pass, advanced in the same transaction as
-- the deliveries of its batch: a crash mid-expansion resumes after it.
CREATE TABLE fanouts (
    id          INTEGER PRIMARY KEY,
    activity_id TEXT    NOT NULL UNIQUE REFERENCES activities (id) ON DELETE CASCADE,
    form        TEXT    NOT NULL,
    pass        INTEGER NOT NULL DEFAULT 1 CHECK (pass IN (1, 2)),
    cursor      TEXT    NOT NULL DEFAULT '',
    second_pass INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX fanouts_in_turn ON fanouts (pass, id);
