package storage

import (
	"database/sql"
	"time"
)

// DomainPolicyKind is what a domain policy does.
type DomainPolicyKind string

const (
	// DomainBlock refuses the domain whatever the federation mode.
	DomainBlock DomainPolicyKind = "block"
	// DomainAllow lets the domain in when the instance federates only with
	// the domains it allows.
	DomainAllow DomainPolicyKind = "allow"
)

// DomainPolicy is one domain blocked or allowed from the command line.
type DomainPolicy struct {
	Domain    string
	Policy    DomainPolicyKind
	Reason    string
	CreatedAt time.Time
}

// PutDomainPolicy records p. Recording a policy the domain has already
// replaces its reason and keeps its date.
func (tx *Tx) PutDomainPolicy(p DomainPolicy) error {
	if _, err := tx.exec(`INSERT INTO domain_policies (domain, policy, reason, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (policy, domain) DO UPDATE SET reason = excluded.reason`,
		p.Domain, p.Policy, p.Reason, millis(tx.now)); err != nil {
		return err
	}
	return tx.domainPoliciesChanged()
}

// RemoveDomainPolicy deletes the policy of that kind on domain, or returns
// ErrNotFound.
func (tx *Tx) RemoveDomainPolicy(policy DomainPolicyKind, domain string) error {
	res, err := tx.exec(`DELETE FROM domain_policies WHERE policy = ? AND domain = ?`, policy, domain)
	if err != nil {
		return err
	}
	switch n, err := res.RowsAffected(); {
	case err != nil:
		return err
	case n == 0:
		return ErrNotFound
	}
	return tx.domainPoliciesChanged()
}

func (tx *Tx) domainPoliciesChanged() error {
	_, err := tx.exec(`UPDATE domain_policies_version SET version = version + 1`)
	return err
}

// DomainPolicies lists every stored policy, blocks first, then by domain.
func (tx *Tx) DomainPolicies() ([]DomainPolicy, error) {
	rows, err := tx.query(`SELECT domain, policy, reason, created_at FROM domain_policies
		ORDER BY policy = 'allow', domain`)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (DomainPolicy, error) {
		var p DomainPolicy
		var created int64
		err := r.Scan(&p.Domain, &p.Policy, &p.Reason, &created)
		p.CreatedAt = fromMillis(created)
		return p, err
	})
}

// DomainPoliciesVersion changes whenever a domain policy is put or
// removed: reading this one number tells whether the policies need reading
// again.
func (tx *Tx) DomainPoliciesVersion() (int64, error) {
	var v int64
	err := tx.queryRow(`SELECT version FROM domain_policies_version`).Scan(&v)
	return v, translate(err)
}

// EndMembershipsOnHosts ends, in every group, the memberships and requests
// to join of every actor whose host refused reports. Bans stay, so that
// lifting the refusal lets nobody back in unasked. It returns how many
// ended.
func (tx *Tx) EndMembershipsOnHosts(refused func(host string) bool) (int64, error) {
	rows, err := tx.query(`SELECT DISTINCT a.host FROM memberships m JOIN actors a ON a.id = m.actor_id
		WHERE m.state != 'banned'`)
	if err != nil {
		return 0, err
	}
	return tx.deleteByHost(rows, refused, `DELETE FROM memberships WHERE state != 'banned'
		AND actor_id IN (SELECT id FROM actors WHERE host = ?)`)
}

// DropDeliveriesToHosts drops every queued delivery, in flight or not, to a
// host refused reports, and returns how many it dropped. Given-up
// deliveries stay listed with their reasons.
func (tx *Tx) DropDeliveriesToHosts(refused func(host string) bool) (int64, error) {
	rows, err := tx.query(`SELECT DISTINCT host FROM deliveries WHERE state = 'queued'`)
	if err != nil {
		return 0, err
	}
	return tx.deleteByHost(rows, refused, `DELETE FROM deliveries WHERE state = 'queued' AND host = ?`)
}

// deleteByHost runs del for each host of rows that refused reports. Hosts
// are judged here rather than in SQL: the judge knows every spelling of a
// domain, and what rows hold is whatever spelling they were written with.
func (tx *Tx) deleteByHost(rows *sql.Rows, refused func(string) bool, del string) (int64, error) {
	hosts, err := scanAll(rows, func(r *sql.Rows) (string, error) {
		var h string
		return h, r.Scan(&h)
	})
	if err != nil {
		return 0, err
	}
	var deleted int64
	for _, host := range hosts {
		if !refused(host) {
			continue
		}
		res, err := tx.exec(del, host)
		if err != nil {
			return deleted, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return deleted, err
		}
		deleted += n
	}
	return deleted, nil
}
