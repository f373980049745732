package federation

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/storage"
)

// errDomainRefused is returned for a server this instance does not federate with.
var errDomainRefused = dereference.ErrNotFederated

// federates reports whether the instance talks to host at all: a blocked
// domain never, and in allowlist mode only the allowed ones. A rule for a
// domain covers its subdomains, and sees through how host is spelled.
func (s *Service) federates(host string) bool { return s.rules.Load().federates(s.cfg.Mode, host) }

// mayPost applies the group's posting policy to the author.
func mayPost(tx *storage.Tx, g storage.Group, author string) (bool, error) {
	moderator, err := tx.IsModerator(g.ID, author)
	if err != nil || moderator {
		return moderator, err
	}
	if g.Posting == storage.PostingModerators {
		return false, nil
	}
	m, err := tx.Membership(g.ID, author)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil && m.State == storage.Member, err
}

// authorizeRead lets anyone read what is addressed to the public, and
// anything else only to a signed fetch by a reader that mayRead admits.
func (s *Service) authorizeRead(r *http.Request, g storage.Group, audience []string) error {
	if slices.Contains(audience, activitypub.Public) {
		return nil
	}
	reader, err := s.reader(r)
	if err != nil {
		return err
	}
	return s.store.View(r.Context(), func(tx *storage.Tx) error {
		allowed, err := s.mayRead(tx, g, reader, audience)
		if err == nil && !allowed {
			return errMembersOnly
		}
		return err
	})
}

// readsAsMember reports whether the request is a signed fetch that may read
// what the group addresses to its members. Refusals are an answer here, not
// an error: whoever is refused is shown less.
func (s *Service) readsAsMember(r *http.Request, g storage.Group) (bool, error) {
	err := s.authorizeRead(r, g, []string{s.iris.GroupFollowers(g.Name)})
	var refused *Error
	if errors.As(err, &refused) {
		return false, nil
	}
	return err == nil, err
}

// mayRead decides whether reader may see what group g addressed to
// audience. A person must be one it was addressed to: a member or
// moderator, for what went to the followers collection, or the addressee
// of a direct message. A whole server may read only through its instance
// actor (an Application or Service, which Mastodon signs with when it
// fetches for all its users), and only what went to one of its people:
// another person on the same server is not let in.
func (s *Service) mayRead(tx *storage.Tx, g storage.Group, reader storage.Actor, audience []string) (bool, error) {
	followers := s.iris.GroupFollowers(g.Name)
	server := serverActor(reader)
	for _, iri := range audience {
		switch {
		case iri == reader.ID:
			return true, nil
		case iri == followers:
			admitted, err := admittedByMembership(tx, g, reader, server)
			if err != nil || admitted {
				return admitted, err
			}
		case server:
			if host, err := activitypub.Host(iri); err == nil && host == reader.Host {
				return true, nil
			}
		}
	}
	return false, nil
}

// serverActor reports whether a fetches for its whole server rather than
// for one person. Mastodon's instance actor is an Application. People and
// bots are Persons and Services, so those count only when named as servers
// name their own actor: after their host (GoToSocial's, a Person), or
// instance.actor (Misskey's, a Service). Mastodon, GoToSocial and Misskey
// refuse account names with a dot, so none of their people can take either.
func serverActor(a storage.Actor) bool {
	switch a.Type {
	case "Application":
		return true
	case "Person", "Service":
		host, _, _ := strings.Cut(a.Host, ":")
		return strings.EqualFold(a.Username, host) || a.Type == "Service" && a.Username == "instance.actor"
	}
	return false
}

// admittedByMembership reports whether reader is a member or moderator of
// g, or, when it acts for its whole server, the server of a member.
func admittedByMembership(tx *storage.Tx, g storage.Group, reader storage.Actor, server bool) (bool, error) {
	m, err := tx.Membership(g.ID, reader.ID)
	switch {
	case err == nil && m.State == storage.Member:
		return true, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	if moderator, err := tx.IsModerator(g.ID, reader.ID); err != nil || moderator {
		return moderator, err
	}
	if !server {
		return false, nil
	}
	return tx.HostHasMember(g.ID, reader.Host)
}

// directTo reports whether obj is a direct message to group: not public,
// and addressed to no collection, only to actors it mentions, the group
// among them.
func directTo(obj *activitypub.Object, group string) bool {
	if obj.IsPublic() || !obj.Addresses(group) {
		return false
	}
	for _, iri := range obj.Audiences() {
		if iri != group && !obj.Mentions(iri) {
			return false
		}
	}
	return true
}

// addressedToAlone reports whether obj is addressed to group and to nobody
// else: no person, no collection.
func addressedToAlone(obj *activitypub.Object, group string) bool {
	addressed := false
	for _, list := range [][]string{obj.To, obj.CC, obj.BTo, obj.BCC} {
		for _, iri := range list {
			if iri != group {
				return false
			}
			addressed = true
		}
	}
	return addressed
}

// blindCopies reports whether o names blind recipients (bto or bcc).
func blindCopies(o *activitypub.Object) bool { return len(o.BTo)+len(o.BCC) > 0 }

// meantForMembers reports whether a member's message to a private group is
// a post for all of its members: addressed beyond the people it names (to
// the public, to the members, or to a collection of the author's own such
// as their followers), or a direct message to the group alone. A direct
// message to others as well was written for those people; republishing it
// would show it, under its author's name, to people it was not meant for.
func (s *Service) meantForMembers(tx *storage.Tx, g storage.Group, author storage.Actor, obj *activitypub.Object) (bool, error) {
	group := s.iris.Group(g.Name)
	if obj.IsPublic() || addressedToAlone(obj, group) {
		return true, nil
	}
	for _, iri := range obj.Audiences() {
		switch {
		case iri == s.iris.GroupFollowers(g.Name):
			return true, nil
		case iri == group, iri == author.ID, obj.Mentions(iri), !activitypub.SameOrigin(iri, author.ID):
			continue
		}
		// Servers name followers collections as they like: an address on
		// the author's server that is no one they mention and no actor
		// we know is taken for one.
		if _, err := tx.Actor(iri); errors.Is(err, storage.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
	}
	return false, nil
}
