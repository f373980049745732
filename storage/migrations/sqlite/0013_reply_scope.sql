-- Which replies a public group boosts to the servers that show its posts
-- as boosts: every reply, none (thread starters alone), or only those that
-- mention the group. Group-aware servers get every reply whatever it says.
ALTER TABLE groups ADD COLUMN replies TEXT NOT NULL DEFAULT 'all' CHECK (replies IN ('all', 'starters', 'none'));
