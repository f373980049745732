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
	"sync/atomic"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/delivery"
	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/federation/metrics"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/federation/transport"
	"github.com/hearth-social/hearth/storage"
)

const (
	// ModeOpen federates with every server that is not blocked.
	ModeOpen Mode = "open"
	// ModeAllowlist federates only with the listed servers.
	ModeAllowlist Mode = "allowlist"
)

// Mode says which remote servers an instance federates with.
type Mode string

// Config is what the composition root hands the service; no package here
// reads configuration itself.
type Config struct {
	BaseURL *url.URL
	Version string
	Mode    Mode
	Allow   []string
	Block   []string
	// AuthorizedFetch serves the documents wrapped in Service.AuthorizedFetch
	// only to requests signed by servers the instance federates with.
	AuthorizedFetch bool
	// InsecureDev allows plain-http and loopback peers. Tests and local
	// experiments turn it on; production must not.
	InsecureDev bool
	// Transport carries every outgoing request; nil means a guarded default.
	Transport http.RoundTripper
	// Workers bounds deliveries in flight to servers that answer well (see
	// delivery.Config); PerHost bounds them per server.
	Workers int
	PerHost int
	// Lease is how long a process keeps a delivery it claimed (see
	// delivery.Config.Lease); zero is the default.
	Lease  time.Duration
	Logger *slog.Logger
	Now    func() time.Time
	// Metrics records what the service does for Prometheus; nil records
	// nothing.
	Metrics *metrics.Metrics
	// GenerateKey makes the RSA key of a new group or instance actor; nil
	// means a fresh key of activitypub.KeyBits. Tests hand out pre-made
	// keys, as making them is most of what their setup would cost.
	GenerateKey func() (*rsa.PrivateKey, error)
	// RateLimits bound what one server or client may ask; the zero value
	// sets no limit.
	RateLimits RateLimits
	// TidyEvery is how often the instance forgets what it no longer needs
	// and lifts the bans that ran out; zero means hourly.
	TidyEvery time.Duration
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

	instanceSigner *signature.Signer
	remote         *dereference.Fetcher
	limits         edgeLimits
	deliveries     *delivery.Engine
	learning       *learner

	stopTidying context.CancelFunc
	tidied      chan struct{}

	// rules is the domain policy in force; watchDomainRules replaces it
	// when "hearth domain" changes it from another process.
	rules        atomic.Pointer[domainRules]
	stopWatching context.CancelFunc
	watched      chan struct{}
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
	if cfg.GenerateKey == nil {
		cfg.GenerateKey = activitypub.GenerateKey
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeOpen
	}
	if cfg.TidyEvery <= 0 {
		cfg.TidyEvery = time.Hour
	}
	var err error
	if cfg.Block, err = parseDomains("block", cfg.Block); err != nil {
		return nil, err
	}
	if cfg.Allow, err = parseDomains("allow", cfg.Allow); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:   cfg,
		store: store,
		iris:  activitypub.NewIRIs(cfg.BaseURL),
		log:   cfg.Logger,
		now:   cfg.Now,
	}
	s.limits = newEdgeLimits(cfg.RateLimits, s.log, s.now)
	if err := s.loadInstanceKey(ctx); err != nil {
		return nil, err
	}
	if _, err := s.loadDomainRules(ctx); err != nil {
		return nil, fmt.Errorf("domain policies: %w", err)
	}
	s.instanceSigner = signature.NewSigner(s.iris.InstanceKey(), s.instanceKey)
	client := transport.NewClient(transport.Options{
		UserAgent: s.UserAgent(),
		Insecure:  cfg.InsecureDev,
		Base:      cfg.Transport,
		Timeout:   20 * time.Second,
	})
	s.remote = dereference.New(dereference.Config{
		Store:     store,
		Client:    client,
		Signer:    s.instanceSigner,
		Federates: s.federates,
		Insecure:  cfg.InsecureDev,
		Logger:    s.log,
		Now:       s.now,
		Metrics:   cfg.Metrics,
	})
	s.learning = newLearner(s.remote.LearnSoftware)
	// A delivery is never sent on to another address: a redirect would
	// carry a signed request somewhere it was not meant for.
	deliveryClient := *client
	deliveryClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.deliveries = delivery.New(store, delivery.Config{
		Workers:  cfg.Workers,
		PerHost:  cfg.PerHost,
		Lease:    cfg.Lease,
		Client:   &deliveryClient,
		Signer:   s.groupSigner,
		Logger:   s.log.With("component", "delivery"),
		Metrics:  cfg.Metrics,
		Now:      s.now,
		Audience: s.memberTurn,
	})
	return s, nil
}

// UserAgent names Hearth, its version and this instance, so that the admins
// of other servers can tell who is calling.
func (s *Service) UserAgent() string {
	version := s.cfg.Version
	if version == "" {
		version = "dev"
	}
	return "Hearth/" + version + " (+" + s.iris.Base() + "/)"
}

// IRIs is the builder of every identifier the instance mints.
func (s *Service) IRIs() activitypub.IRIs { return s.iris }

// Start runs the delivery workers until Stop, and keeps the domain rules
// up to date.
func (s *Service) Start(ctx context.Context) error {
	if err := s.cutOffRefused(ctx); err != nil {
		return fmt.Errorf("cutting off refused domains: %w", err)
	}
	if err := s.deliveries.Start(ctx); err != nil {
		return err
	}
	tidyCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopTidying = stop
	s.tidied = make(chan struct{})
	go s.tidy(tidyCtx)
	watchCtx, stopWatching := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWatching = stopWatching
	s.watched = make(chan struct{})
	go s.watchDomainRules(watchCtx)
	return nil
}

// Stop stops the delivery workers, letting requests in flight finish until
// ctx ends; what is not delivered stays queued for the next start. What
// the service was learning in the background is abandoned.
func (s *Service) Stop(ctx context.Context) error {
	s.stopTidying()
	<-s.tidied
	s.stopWatching()
	<-s.watched
	learning := s.learning.stop(ctx)
	return errors.Join(learning, s.deliveries.Stop(ctx))
}

// Settle waits until the service has learned what it set out to learn in
// the background after answering earlier requests (what software the
// server of a new member runs), or until ctx ends. Tests settle before
// they look at what depends on it.
func (s *Service) Settle(ctx context.Context) error {
	return s.learning.wait(ctx)
}

// seenMemory is how long received activity ids are kept for deduplication:
// well past the few days senders keep retrying.
const seenMemory = 14 * 24 * time.Hour

// failedMemory is how long a given-up delivery stays listed, with its
// reason, by "hearth deliveries".
const failedMemory = 30 * 24 * time.Hour

// tidy drops, once an hour, what the instance no longer needs to remember:
// old activity ids, old given-up deliveries, and deleted groups whose last
// deliveries are done. It lifts the bans that ran out, too: their servers
// let the banned follow again only once the group's Block is undone; and
// it declines the posts that waited too long for a moderator, and turns
// down the requests to join that did not answer the group's questions.
func (s *Service) tidy(ctx context.Context) {
	defer close(s.tidied)
	ticker := time.NewTicker(s.cfg.TidyEvery)
	defer ticker.Stop()
	for {
		err := s.store.Update(ctx, func(tx *storage.Tx) error {
			if _, err := tx.ForgetSeen(tx.Now().Add(-seenMemory)); err != nil {
				return err
			}
			if _, err := tx.ForgetFailedDeliveries(tx.Now().Add(-failedMemory)); err != nil {
				return err
			}
			if _, err := tx.PurgeRetiredGroups(); err != nil {
				return err
			}
			if err := s.declineExpiredHolds(tx); err != nil {
				return err
			}
			if err := s.rejectUnanswered(tx); err != nil {
				return err
			}
			return s.liftExpiredBans(tx)
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("tidying the database", "err", err)
		}
		if err == nil {
			s.deliveries.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// groupSigner gives the delivery engine the signer of a group (0: the
// instance actor).
func (s *Service) groupSigner(ctx context.Context, groupID int64) (*signature.Signer, error) {
	if groupID == 0 {
		return s.instanceSigner, nil
	}
	var g storage.Group
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		g, err = tx.GroupByID(groupID)
		return err
	})
	if err != nil {
		return nil, err
	}
	key, err := activitypub.ParsePrivateKey(g.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", g.Name, err)
	}
	return signature.NewSigner(s.iris.GroupKey(g.Name), key), nil
}

// newKeyPair makes the key of a new group or of the instance actor,
// encoded for storage.
func (s *Service) newKeyPair() (privatePEM, publicPEM string, err error) {
	key, err := s.cfg.GenerateKey()
	if err != nil {
		return "", "", err
	}
	return activitypub.EncodeKeyPair(key)
}

func (s *Service) loadInstanceKey(ctx context.Context) error {
	var stored storage.InstanceKey
	err := s.store.Update(ctx, func(tx *storage.Tx) error {
		var err error
		stored, err = tx.InstanceKey()
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if stored.PrivateKeyPEM, stored.PublicKeyPEM, err = s.newKeyPair(); err != nil {
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
