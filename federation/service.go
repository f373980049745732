// Package federation is Hearth's network edge and its group rules: the
// documents other servers fetch, the signed inbox, what each activity means
// for a group, and the workers that deliver what the groups send.
package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// Mode says which remote servers an instance federates with.
type Mode string

const (
	// ModeOpen federates with every server that is not blocked.
	ModeOpen Mode = "open"
	// ModeAllowlist federates only with the listed servers.
	ModeAllowlist Mode = "allowlist"
)

// Config is what the composition root hands the service; no package here
// reads configuration itself.
type Config struct {
	BaseURL *url.URL
	Version string
	Mode    Mode
	Allow   []string
	Block   []string
	// InsecureDev allows plain-http and loopback peers. Tests and local
	// experiments turn it on; production must not.
	InsecureDev bool
	// Transport carries every outgoing request; nil means a guarded default.
	Transport http.RoundTripper
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service serves and sends everything federated for one instance.
type Service struct {
	cfg         Config
	store       *storage.Store
	iris        activitypub.IRIs
	log         *slog.Logger
	now         func() time.Time
	instanceKey *rsa.PrivateKey
	instancePub string
}

// New prepares the service, making the instance actor's key on first use.
func New(ctx context.Context, cfg Config, store *storage.Store) (*Service, error) {
	if cfg.BaseURL == nil {
		return nil, errors.New("federation: no base URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeOpen
	}
	s := &Service{
		cfg:   cfg,
		store: store,
		iris:  activitypub.NewIRIs(cfg.BaseURL),
		log:   cfg.Logger,
		now:   cfg.Now,
	}
	if err := s.loadInstanceKey(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// IRIs is the builder of every identifier the instance mints.
func (s *Service) IRIs() activitypub.IRIs { return s.iris }

func (s *Service) loadInstanceKey(ctx context.Context) error {
	var stored storage.InstanceKey
	err := s.store.Update(ctx, func(tx *storage.Tx) error {
		var err error
		stored, err = tx.InstanceKey()
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		key, err := activitypub.GenerateKey()
		if err != nil {
			return err
		}
		if stored.PrivateKeyPEM, err = activitypub.EncodePrivateKey(key); err != nil {
			return err
		}
		if stored.PublicKeyPEM, err = activitypub.EncodePublicKey(&key.PublicKey); err != nil {
			return err
		}
		return tx.SetInstanceKey(stored)
	})
	if err != nil {
		return fmt.Errorf("instance key: %w", err)
	}
	key, err := activitypub.ParsePrivateKey(stored.PrivateKeyPEM)
	if err != nil {
		return fmt.Errorf("instance key: %w", err)
	}
	s.instanceKey, s.instancePub = key, stored.PublicKeyPEM
	return nil
}
