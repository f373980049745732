package federation

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// errBadSubscribeTemplate is returned for a follow-page template that is
// not a web address with a place for the account to follow.
var errBadSubscribeTemplate = errors.New("the server's follow-page template is not a usable web address")

// RemoteFollowURL returns the page where the owner of account, a visitor's
// user@host, follows the group called group from their own server: the
// follow-page template their server publishes in WebFinger, filled in with
// the group's handle. The look-up goes through the guarded client, so a
// visitor cannot point it at the instance's own network.
func (s *Service) RemoteFollowURL(ctx context.Context, account, group string) (string, error) {
	g, err := s.Group(ctx, group)
	if err != nil {
		return "", err
	}
	template, err := s.remote.SubscribeTemplate(ctx, account)
	if err != nil {
		return "", err
	}
	if !strings.Contains(template, "{uri}") {
		return "", errBadSubscribeTemplate
	}
	target := strings.ReplaceAll(template, "{uri}", url.QueryEscape(g.Name+"@"+s.iris.Host()))
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && s.cfg.InsecureDev) {
		return "", errBadSubscribeTemplate
	}
	return target, nil
}
