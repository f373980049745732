package storage

import (
	"database/sql"
	"errors"
	"time"
)

// SetHostSoftware records the software a host runs ("" when unknown) and
// when it was asked.
func (tx *Tx) SetHostSoftware(host, software string) error {
	_, err := tx.exec(`INSERT INTO hosts (host, software, software_checked_at) VALUES (?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET software = excluded.software, software_checked_at = excluded.software_checked_at`,
		host, software, millis(tx.now))
	return err
}

// HostSoftware returns what a host runs and when that was last checked;
// the zero time means never.
func (tx *Tx) HostSoftware(host string) (string, time.Time, error) {
	var software string
	var checked int64
	err := tx.queryRow(`SELECT software, software_checked_at FROM hosts WHERE host = ?`, host).Scan(&software, &checked)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	return software, fromMillis(checked), translate(err)
}
