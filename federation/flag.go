package federation

import (
	"context"
	"errors"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// maxFlagObjects bounds how many of a Flag's objects are looked at: a real
// report names an account and a few of its posts.
const maxFlagObjects = 100

// onFlag files a report (Mastodon sends the reported account and posts as
// the Flag's object, from its instance actor; Lemmy sends a post, from the
// reporter, to the community) for the groups it concerns, and tells each
// group's moderators of a new report. A report that names nothing of a
// group here is ignored. (Reports from servers the instance does not
// federate with were refused before this, with 403.)
func (s *Service) onFlag(ctx context.Context, in inbound) error {
	host, err := activitypub.Host(in.actor.ID)
	if err != nil {
		return err
	}
	comment := in.activity.Content
	if comment == "" {
		comment = in.activity.Summary
	}
	comment = activitypub.PlainText(comment)
	return s.commit(ctx, in, func(tx *storage.Tx) error {
		concerns, err := s.reportConcerns(tx, in.activity)
		if err != nil {
			return err
		}
		if len(concerns) == 0 {
			s.log.Debug("ignored a report about nothing of this instance's groups", "id", in.activity.ID)
		}
		for _, c := range concerns {
			if err := s.fileReport(tx, c, host, comment); err != nil {
				return err
			}
		}
		return nil
	})
}

// concern is what one report says about one group: the posts of it that it
// names, and the account, if any: one the group knows, or the author of a
// named post.
type concern struct {
	group   storage.Group
	named   bool // the report names the group itself, or is addressed to it
	posts   []storage.Post
	account string
}

// reportConcerns sorts what a Flag names by group. The groups it names or
// is addressed to are the ones it concerns; failing those, the groups
// whose shared posts it names; failing those, the groups the accounts it
// names are members of.
func (s *Service) reportConcerns(tx *storage.Tx, flag *activitypub.Object) ([]*concern, error) {
	var order []*concern
	byGroup := map[int64]*concern{}
	add := func(g storage.Group) *concern {
		c, ok := byGroup[g.ID]
		if !ok {
			c = &concern{group: g}
			byGroup[g.ID] = c
			order = append(order, c)
		}
		return c
	}
	objects := flag.Objects
	if len(objects) > maxFlagObjects {
		objects = objects[:maxFlagObjects]
	}
	var accounts []string
	for _, id := range objects {
		g, isGroup, err := s.groupByIRI(tx, id)
		if err != nil {
			return nil, err
		}
		if isGroup {
			add(g).named = true
			continue
		}
		posts, err := sharedPostsAt(tx, id)
		if err != nil {
			return nil, err
		}
		for _, p := range posts {
			g, err := tx.GroupByID(p.GroupID)
			if err != nil {
				return nil, err
			}
			c := add(g)
			c.posts = append(c.posts, p)
		}
		if len(posts) == 0 {
			accounts = append(accounts, id)
		}
	}
	for _, iri := range flag.Audiences() {
		g, isGroup, err := s.groupByIRI(tx, iri)
		if err != nil {
			return nil, err
		}
		if isGroup {
			add(g).named = true
		}
	}
	if len(order) == 0 {
		for _, account := range accounts {
			memberships, err := tx.MembershipsOf(account)
			if err != nil {
				return nil, err
			}
			for _, m := range memberships {
				if m.State != storage.Member {
					continue
				}
				g, err := tx.GroupByID(m.GroupID)
				if err != nil {
					return nil, err
				}
				add(g)
			}
		}
	}
	named := false
	for _, c := range order {
		named = named || c.named
	}
	var out []*concern
	for _, c := range order {
		if named && !c.named {
			continue
		}
		account, err := reportedAccount(tx, c, accounts)
		if err != nil {
			return nil, err
		}
		c.account = account
		out = append(out, c)
	}
	return out, nil
}

// sharedPostsAt lists the posts groups share at id: members' posts, by
// their id, and the groups' copies.
func sharedPostsAt(tx *storage.Tx, id string) ([]storage.Post, error) {
	posts, err := relayedPosts(tx, id, "")
	if err != nil {
		return nil, err
	}
	p, err := tx.PostByCopy(id)
	switch {
	case err == nil && p.State == storage.Relayed:
		posts = append(posts, p)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	return posts, nil
}

// reportedAccount is the account a report names for c's group: the first
// of accounts the group has a row for, or else the author of the first
// post it names.
func reportedAccount(tx *storage.Tx, c *concern, accounts []string) (string, error) {
	for _, account := range accounts {
		_, err := tx.Membership(c.group.ID, account)
		if err == nil {
			return account, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return "", err
		}
	}
	// A reported post names its author, unless it is anonymous: a report
	// must not become the way to learn who wrote it.
	for _, p := range c.posts {
		if !p.Anonymous {
			return p.AuthorID, nil
		}
	}
	return "", nil
}
