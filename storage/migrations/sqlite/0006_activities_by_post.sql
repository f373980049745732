-- Removing or erasing a post finds what was sent about it by post; without
-- this index every removal read the whole activities table while holding
-- the only writer.
CREATE INDEX activities_by_post ON activities (post_id);
