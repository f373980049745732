-- Domains the admin blocks or allows with "hearth domain", on top of
-- federation.block and federation.allow in the configuration. A domain is
-- stored in canonical form (lower case, punycode, no trailing dot) and
-- covers its subdomains.
CREATE TABLE domain_policies (
    domain     TEXT    NOT NULL,
    policy     TEXT    NOT NULL CHECK (policy IN ('block', 'allow')),
    reason     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (policy, domain)
);

-- Counts the changes to domain_policies: the running server reads this one
-- row every half second to learn that the command line changed them.
CREATE TABLE domain_policies_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO domain_policies_version (id, version) VALUES (1, 0);
