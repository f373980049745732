package federation

import (
	"context"
	"errors"
	"net/http"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/storage"
)

// postTypes are the objects a group relays as posts.
var postTypes = map[string]bool{"Note": true, "Article": true, "Page": true, "Question": true}

// onCreate relays a member's new post to every group it is meant for: the
// groups it addresses or mentions, and the groups that relayed the post it
// answers.
func (s *Service) onCreate(ctx context.Context, in inbound) error {
	obj, ok, err := s.authoredObject(ctx, in)
	if err != nil || !ok {
		return err
	}
	if in.named, err = s.lookUpCommandAccount(ctx, in, obj); err != nil {
		return err
	}
	return s.commit(ctx, in, func(tx *storage.Tx) error {
		groups, err := s.targetGroups(tx, in.activity, obj)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := s.relayPost(tx, g, in, obj); err != nil {
				return err
			}
		}
		return nil
	})
}

// authoredObject returns the object of a Create or Update by its own author:
// taken as embedded when it comes from the signer's server, fetched from
// its origin otherwise. ok is false for anything that is not a post written
// by the activity's actor.
func (s *Service) authoredObject(ctx context.Context, in inbound) (*activitypub.Object, bool, error) {
	ref := in.activity.Object
	if ref == nil || ref.ID == "" {
		return nil, false, nil
	}
	obj := ref.Embedded
	if obj == nil || !activitypub.SameOrigin(obj.ID, in.actor.ID) {
		if !activitypub.SameOrigin(ref.ID, in.actor.ID) {
			return nil, false, nil
		}
		fetched, err := s.remote.Object(ctx, ref.ID, dereference.Signed)
		if errors.Is(err, dereference.ErrGone) {
			// Deleted before we could read it: nothing to relay.
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fetchError("could not fetch the object from its origin", err)
		}
		obj = fetched
	}
	if !postTypes[obj.Type] || obj.AttributedTo != in.actor.ID {
		return obj, false, nil
	}
	return obj, true, nil
}

// targetGroups lists, once each, the local groups a post is meant for.
func (s *Service) targetGroups(tx *storage.Tx, activity, obj *activitypub.Object) ([]storage.Group, error) {
	var candidates []string
	candidates = append(candidates, obj.Audiences()...)
	candidates = append(candidates, activity.Audiences()...)
	for _, tag := range obj.Tag {
		if tag.Type == "Mention" {
			candidates = append(candidates, tag.Href)
		}
	}
	seen := map[int64]bool{}
	var groups []storage.Group
	add := func(g storage.Group) {
		if !seen[g.ID] {
			seen[g.ID] = true
			groups = append(groups, g)
		}
	}
	for _, iri := range candidates {
		g, ok, err := s.groupByIRI(tx, iri)
		if err != nil {
			return nil, err
		}
		if ok {
			add(g)
		}
	}
	if obj.InReplyTo != "" {
		g, ok, err := s.groupOfNote(tx, obj.InReplyTo)
		if err != nil {
			return nil, err
		}
		if ok {
			add(g)
		}
		parents, err := tx.PostsOfObject(obj.InReplyTo)
		if err != nil {
			return nil, err
		}
		for _, p := range parents {
			if p.State != storage.Relayed {
				continue
			}
			g, err := tx.GroupByID(p.GroupID)
			if err != nil {
				return nil, err
			}
			add(g)
		}
	}
	return groups, nil
}

// fetchError is the answer to an activity whose object could not be
// fetched: 503 when the failure may pass, so that the sender retries
// rather than give the activity up, and 400 otherwise.
func fetchError(reason string, err error) error {
	if errors.Is(err, dereference.ErrUnavailable) {
		return &Error{Status: http.StatusServiceUnavailable, Reason: reason + "; try again later", Err: err}
	}
	return &Error{Status: http.StatusBadRequest, Reason: reason, Err: err}
}
