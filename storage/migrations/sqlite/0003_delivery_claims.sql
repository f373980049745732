-- Deliveries in flight, by host: a claim counts each host's in-flight
-- requests from this small index instead of reading the whole queue.
CREATE INDEX deliveries_in_flight ON deliveries (host, claimed_until) WHERE claimed_until > 0;

-- Hosts resting after repeated failures, for the next time one is due.
CREATE INDEX hosts_resting ON hosts (retry_at) WHERE retry_at > 0;

-- Queued deliveries by age, for giving up the ones retried for too long.
CREATE INDEX deliveries_age ON deliveries (created_at) WHERE state = 'queued';
