package storage

import (
	"database/sql"
	"strings"
)

// DomainPolicy is the instance's standing rule for a remote domain.
type DomainPolicy string

const (
	// Block refuses everything from the domain.
	Block DomainPolicy = "block"
	// Allow admits the domain when federation is allowlist-only.
	Allow DomainPolicy = "allow"
)

// SetDomainPolicy records policy for domain (lower-cased).
func (tx *Tx) SetDomainPolicy(domain string, policy DomainPolicy) error {
	_, err := tx.exec(`INSERT INTO domain_policies (domain, policy, created_at) VALUES (?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET policy = excluded.policy`, strings.ToLower(domain), policy, millis(tx.now))
	return err
}

// RemoveDomainPolicy forgets the rule for domain.
func (tx *Tx) RemoveDomainPolicy(domain string) error {
	res, err := tx.exec(`DELETE FROM domain_policies WHERE domain = ?`, strings.ToLower(domain))
	return mustAffect(res, err)
}

// DomainPolicies lists domain → policy.
func (tx *Tx) DomainPolicies() (map[string]DomainPolicy, error) {
	rows, err := tx.query(`SELECT domain, policy FROM domain_policies`)
	if err != nil {
		return nil, err
	}
	type pair struct {
		domain string
		policy DomainPolicy
	}
	pairs, err := scanAll(rows, func(r *sql.Rows) (pair, error) {
		var p pair
		return p, r.Scan(&p.domain, &p.policy)
	})
	out := make(map[string]DomainPolicy, len(pairs))
	for _, p := range pairs {
		out[p.domain] = p.policy
	}
	return out, err
}

// MarkSeen records an activity id; it reports false when the id was seen
// before, so a redelivered activity changes nothing.
func (tx *Tx) MarkSeen(activityID string) (bool, error) {
	res, err := tx.exec(`INSERT INTO seen_activities (id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, activityID, millis(tx.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
