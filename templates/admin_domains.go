package templates

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// The Federation section's pages.
var federationTabs = []navEntry{
	{"deliveries", "Deliveries", ""},
	{"domains", "Domains", "/domains"},
}

// domainRuleList is a list of rules of one policy with what its forms
// need: the action that removes a rule, and its button's label.
type domainRuleList struct {
	CSRF   string
	Rules  []DomainRule
	Action string
	Label  string
}

func init() {
	funcs["federationTabs"] = func() []navEntry { return federationTabs }
	funcs["domainRules"] = func(page *domainsPage, rules []DomainRule, action, label string) domainRuleList {
		return domainRuleList{CSRF: page.CSRF, Rules: rules, Action: action, Label: label}
	}
}

// DomainRule is a domain the instance blocks or allows, as the federation
// service lists it.
type DomainRule struct {
	Domain string
	Policy storage.DomainPolicyKind
	Reason string
	Since  time.Time // zero for the configuration's
	// InConfig marks a rule from federation.block or federation.allow,
	// which only the configuration changes.
	InConfig bool
}

// Setting is the configuration key a rule of its policy comes from.
func (r DomainRule) Setting() string {
	if r.Policy == storage.DomainAllow {
		return "federation.allow"
	}
	return "federation.block"
}

// Cutoff is what blocking a domain ended.
type Cutoff struct {
	Memberships int64 // memberships and requests to join, in every group
	Deliveries  int64 // queued deliveries to its servers
}

type domainsPage struct {
	frame
	Tab       string
	Allowlist bool
	Blocked   []DomainRule
	Allowed   []DomainRule
	// Action, Domain and Reason are what was posted in the form that
	// failed.
	Action string
	Domain string
	Reason string
}

// Domains lists the domains the instance blocks and allows, with forms
// to change them.
func (p *Pages) Domains(w http.ResponseWriter, r *http.Request) {
	p.domains(w, r, http.StatusOK, "")
}

func (p *Pages) domains(w http.ResponseWriter, r *http.Request, status int, problem string) {
	page := domainsPage{frame: consoleFrame(r, "federation"), Tab: "domains", Allowlist: p.fed.Allowlist()}
	if q := r.URL.Query(); q.Get("done") == "block" {
		page.Notice = blockNotice(q.Get("ended"), q.Get("dropped"))
	}
	if problem != "" {
		page.Error = problem
		page.Action, page.Domain, page.Reason = r.PostFormValue("action"), r.PostFormValue("domain"), r.PostFormValue("reason")
	}
	rules, err := p.fed.DomainRules(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, rule := range rules {
		if rule.Policy == storage.DomainAllow {
			page.Allowed = append(page.Allowed, rule)
		} else {
			page.Blocked = append(page.Blocked, rule)
		}
	}
	p.render(w, r, status, "admin_domains.html", &page)
}

// blockNotice says what a block cut off, with the counts the redirect
// after it carries.
func blockNotice(ended, dropped string) string {
	memberships, err1 := strconv.ParseInt(ended, 10, 64)
	deliveries, err2 := strconv.ParseInt(dropped, 10, 64)
	if err1 != nil || err2 != nil {
		return notices["block"]
	}
	return fmt.Sprintf("%s Memberships and requests to join ended: %d. Queued deliveries dropped: %d.",
		notices["block"], memberships, deliveries)
}

// ChangeDomains blocks or allows a domain, or removes a rule made here or
// with "hearth domain".
func (p *Pages) ChangeDomains(w http.ResponseWriter, r *http.Request) {
	action := r.PostFormValue("action")
	domain := strings.TrimSpace(r.PostFormValue("domain"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	switch {
	case domain == "":
		p.domains(w, r, http.StatusBadRequest, "Name a domain, like example.social.")
		return
	case !validText(reason, maxReason):
		p.domains(w, r, http.StatusBadRequest, "The reason is too long.")
		return
	}
	done := "?done=" + action
	var err error
	switch action {
	case "block":
		var c Cutoff
		c, err = p.fed.BlockDomain(r.Context(), domain, reason)
		done += fmt.Sprintf("&ended=%d&dropped=%d", c.Memberships, c.Deliveries)
	case "allow":
		err = p.fed.AllowDomain(r.Context(), domain, reason)
	case "unblock":
		err = p.fed.RemoveDomainRule(r.Context(), storage.DomainBlock, domain)
	case "disallow":
		err = p.fed.RemoveDomainRule(r.Context(), storage.DomainAllow, domain)
	default:
		p.domains(w, r, http.StatusBadRequest, "Unknown action.")
		return
	}
	if err != nil {
		p.domains(w, r, http.StatusBadRequest, err.Error())
		return
	}
	p.log.Info("console action", "action", action, "domain", domain)
	http.Redirect(w, r, consolePath+"/federation/domains"+done, http.StatusSeeOther)
}
