package federation

import (
	"github.com/hearth-social/hearth/storage"
)

// Servers that show a relayed post only as a boost of the note: they get
// the boost alone, which halves the signing work for them. (They would
// fetch the wrapped Create's id and find another server's activity.)
var boostOnly = map[string]bool{
	"mastodon": true, "hometown": true, "glitch-soc": true, "fedibird": true,
	"misskey": true, "sharkey": true, "iceshrimp": true, "firefish": true, "catodon": true,
	"pleroma": true, "akkoma": true, "gotosocial": true,
}

// Group-aware servers read the FEP-1b12 Announce of the activity and
// refuse or ignore the bare boost: they get the wrapped form alone.
var wrappedOnly = map[string]bool{
	"lemmy": true, "mbin": true, "kbin": true, "piefed": true, "lotide": true,
}

// announceAudiences splits the delivery inboxes of g's members by the form
// of Announce their servers read. A server whose software is unknown gets
// both forms.
func announceAudiences(tx *storage.Tx, g storage.Group) (wrapped, boost []string, err error) {
	inboxes, err := tx.MemberInboxes(g.ID)
	if err != nil {
		return nil, nil, err
	}
	software, err := tx.SoftwareByInbox(inboxes)
	if err != nil {
		return nil, nil, err
	}
	for _, inbox := range inboxes {
		name := software[inbox]
		if !boostOnly[name] {
			wrapped = append(wrapped, inbox)
		}
		if !wrappedOnly[name] {
			boost = append(boost, inbox)
		}
	}
	return wrapped, boost, nil
}
