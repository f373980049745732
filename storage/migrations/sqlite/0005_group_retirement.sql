-- A deleted group is kept, retired, until its farewell Delete has reached
-- its members' servers: those deliveries are signed with its key.
ALTER TABLE groups ADD COLUMN retired_at INTEGER NOT NULL DEFAULT 0;
