package federation

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// An approval group may screen whoever asks to join: it asks them its
// questions by direct message, and their answer, a direct message back,
// goes to the moderators with the request. A request that goes unanswered
// for answerWait is turned down. People of the servers the group trusts
// join at once, unasked.

const (
	// MaxQuestions bounds the questions a group asks.
	MaxQuestions = 3
	// MaxQuestionLength bounds one question, in bytes.
	MaxQuestionLength = 500
	// maxAnswerLength bounds the answer kept and passed on, in bytes.
	maxAnswerLength = 2000
	// answerWait is how long a request waits for its answer.
	answerWait = 7 * 24 * time.Hour
)

// validateScreening checks the questions and trusted servers of g.
func validateScreening(g *storage.Group) error {
	if len(g.Questions) > MaxQuestions {
		return fmt.Errorf("a group asks at most %d questions", MaxQuestions)
	}
	for _, q := range g.Questions {
		if q == "" || len(q) > MaxQuestionLength || strings.ContainsAny(q, "\r\n") {
			return fmt.Errorf("question %q: must be one line of 1 to %d bytes", q, MaxQuestionLength)
		}
	}
	for i, domain := range g.TrustedDomains {
		canonical, err := ParseDomain(domain)
		if err != nil {
			return err
		}
		g.TrustedDomains[i] = canonical
	}
	return nil
}

// trusts reports whether g lets the people of host's server join unasked.
func trusts(g storage.Group, host string) bool {
	name, ok := domainOf(host)
	if !ok {
		return false
	}
	domains := map[string]bool{}
	for _, d := range g.TrustedDomains {
		domains[d] = true
	}
	return under(name, domains)
}

// askQuestions sends whoever asks to join g the group's questions.
func (s *Service) askQuestions(tx *storage.Tx, g storage.Group, person storage.Actor) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>Thank you for asking to join %s. Before a moderator decides, please answer these questions "+
		"in one direct message to the group, or in a reply to this one:</p><p>", html.EscapeString(g.Name))
	for i, q := range g.Questions {
		if i > 0 {
			b.WriteString("<br>")
		}
		fmt.Fprintf(&b, "%d. %s", i+1, html.EscapeString(q))
	}
	fmt.Fprintf(&b, "</p><p>Only the moderators read your answer. A request with no answer is turned down after %d days.</p>",
		int(answerWait/(24*time.Hour)))
	_, err := s.tell(tx, g, person, b.String(), "", 0)
	return err
}

// takeAnswer attaches a pending request's first direct message to the
// group, its answer to the questions, and passes it to the moderators. It
// reports whether obj was such an answer; later messages from the same
// person are dropped, so that a request cannot flood the moderators.
func (s *Service) takeAnswer(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) (bool, error) {
	if len(g.Questions) == 0 || obj.IsPublic() {
		return false, nil
	}
	m, err := tx.Membership(g.ID, in.actor.ID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && m.State != storage.Pending {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !directTo(obj, s.iris.Group(g.Name)) {
		answers, err := s.answersGroupMessage(tx, g, obj.InReplyTo)
		if err != nil || !answers {
			return false, err
		}
	}
	if m.Answer != "" {
		s.log.Debug("dropped another message from a pending request", "group", g.Name, "object", obj.ID)
		return true, nil
	}
	answer := answerText(obj.Content)
	if answer == "" {
		return true, nil
	}
	if err := tx.SetAnswer(g.ID, in.actor.ID, answer); err != nil {
		return true, err
	}
	name := accountName(in.actor)
	var b strings.Builder
	fmt.Fprintf(&b, "<p>%s, who asks to join %s, answered its questions:</p><p>", html.EscapeString(name), html.EscapeString(g.Name))
	for i, q := range g.Questions {
		if i > 0 {
			b.WriteString("<br>")
		}
		fmt.Fprintf(&b, "%d. %s", i+1, html.EscapeString(q))
	}
	fmt.Fprintf(&b, "</p><blockquote>%s</blockquote>", activitypub.TextToHTML(answer))
	b.WriteString("<p>To let them in or turn them down, send the group one of these lines as a direct message:</p>")
	b.WriteString(commandLines("approve "+name, "reject "+name))
	if _, err := s.tellModerators(tx, g, b.String(), 0); err != nil {
		return true, err
	}
	s.log.Info("join request answered the group's questions", "group", g.Name)
	_, err = s.tell(tx, g, in.actor, "<p>Thank you: your answer was passed to the moderators of "+html.EscapeString(g.Name)+
		", who will decide on your request.</p>", obj.ID, 0)
	return true, err
}

// answerText is the plain text of an answer, without the mentions it
// starts with, cut to maxAnswerLength.
func answerText(content string) string {
	words := strings.Fields(activitypub.WithoutControls(activitypub.PlainText(content)))
	for len(words) > 0 && strings.HasPrefix(words[0], "@") {
		words = words[1:]
	}
	text := strings.Join(words, " ")
	if len(text) > maxAnswerLength {
		text = strings.ToValidUTF8(text[:maxAnswerLength], "")
	}
	return text
}

// rejectUnanswered turns down the requests that did not answer the
// group's questions in time.
func (s *Service) rejectUnanswered(tx *storage.Tx) error {
	unanswered, err := tx.UnansweredRequests(tx.Now().Add(-answerWait))
	if err != nil {
		return err
	}
	for _, m := range unanswered {
		g, err := tx.GroupByID(m.GroupID)
		if err != nil {
			return err
		}
		a, err := knownActor(tx, m.ActorID)
		if err != nil {
			return err
		}
		if err := s.reject(tx, g, a, byExpiry); err != nil {
			return err
		}
	}
	return nil
}
