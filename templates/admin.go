package templates

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/hearth-social/hearth/storage"
)

// The console's accounts and sessions. A password is kept as a bcrypt hash;
// a session is a random token in an HttpOnly cookie, kept in the database
// by its SHA-256 only. Every form carries a token that a page of another
// site cannot read: the session's own once signed in, and before that
// (setup, login) one that a cookie of the console's holds too.

const (
	// DefaultPasswordCost is the bcrypt cost of console passwords.
	DefaultPasswordCost = 12
	// MinPasswordLength and maxPasswordLength bound a password, in bytes;
	// bcrypt reads no more than 72.
	MinPasswordLength = 10
	maxPasswordLength = 72

	sessionCookie   = "hearth_session"
	csrfCookie      = "hearth_csrf"
	deviceCookie    = "hearth_device"
	consolePath     = "/admin"
	sessionLifetime = 12 * time.Hour
	// deviceLifetime is how long a browser that signed in is known again.
	deviceLifetime = 365 * 24 * time.Hour
	// maxFormBytes bounds a console form, an icon upload included.
	maxFormBytes = maxIconBytes + 64<<10
)

var adminName = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// ErrSetUp is returned by the setup page once the instance has an
// administrator: from then on, only a signed-in one adds others.
var ErrSetUp = errors.New("this instance has an administrator already")

// ErrBadAdmin is returned for a username or password the console does not
// accept.
var ErrBadAdmin = fmt.Errorf("a username is 1 to 64 letters, digits, '.', '_' or '-'; a password is %d to %d bytes", MinPasswordLength, maxPasswordLength)

// CreateAdmin adds a console account, as "hearth admin create" does.
func CreateAdmin(ctx context.Context, store *storage.Store, username, password string, cost int) error {
	_, err := createAdmin(ctx, store, username, password, cost, false)
	return err
}

// createAdmin hashes the password and stores the account; with first set,
// only on an instance that has none.
func createAdmin(ctx context.Context, store *storage.Store, username, password string, cost int, first bool) (storage.Admin, error) {
	if !adminName.MatchString(username) || len(password) < MinPasswordLength || len(password) > maxPasswordLength {
		return storage.Admin{}, ErrBadAdmin
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return storage.Admin{}, err
	}
	var admin storage.Admin
	err = store.Update(ctx, func(tx *storage.Tx) error {
		if first {
			n, err := tx.CountAdmins()
			if err != nil {
				return err
			}
			if n > 0 {
				return ErrSetUp
			}
		}
		admin, err = tx.CreateAdmin(username, string(hash))
		return err
	})
	if errors.Is(err, storage.ErrConflict) {
		return admin, fmt.Errorf("%q: an administrator of that name exists already", username)
	}
	return admin, err
}

type sessionKey struct{}
type csrfKey struct{}

func sessionOf(ctx context.Context) (storage.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(storage.Session)
	return s, ok
}

// Console is the middleware of every console page: it finds the session,
// gives the page its form token, and turns away a form posted without the
// right token or from another site.
func (p *Pages) Console(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		s, err := p.session(r)
		switch {
		case err == nil:
			token = s.CSRFToken
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		case errors.Is(err, storage.ErrNotFound):
			token = p.anonymousToken(w, r)
		default:
			p.fail(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), csrfKey{}, token))
		if r.Method == http.MethodPost {
			if status, err := p.checkForm(w, r, token); err != nil {
				p.log.Info("console form refused", "path", r.URL.Path, "err", err)
				p.render(w, r, status, "error.html", &errorPage{Title: "Form refused",
					Message: "This form could not be accepted. Go back, reload the page and try again."})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

var errCrossSite = errors.New("posted from another site")

// checkForm reads a posted form, bounded in size, and checks its token.
func (p *Pages) checkForm(w http.ResponseWriter, r *http.Request, token string) (int, error) {
	if origin := r.Header.Get("Origin"); origin != "" && origin != p.iris.Base() {
		return http.StatusForbidden, errCrossSite
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return http.StatusForbidden, errCrossSite
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	var err error
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType == "multipart/form-data" {
		err = r.ParseMultipartForm(maxFormBytes)
	} else {
		err = r.ParseForm()
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, err
	case err != nil:
		return http.StatusBadRequest, err
	}
	sent := r.PostFormValue("csrf")
	if token == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
		return http.StatusForbidden, errors.New("missing or wrong form token")
	}
	return 0, nil
}

// session returns the request's unexpired session, or ErrNotFound.
func (p *Pages) session(r *http.Request) (storage.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return storage.Session{}, storage.ErrNotFound
	}
	var s storage.Session
	err = p.store.View(r.Context(), func(tx *storage.Tx) (err error) {
		s, err = tx.SessionByToken(hashToken(c.Value))
		return err
	})
	return s, err
}

// anonymousToken is the form token of a visitor not signed in, kept in a
// cookie of the console's; it is made on the first visit.
func (p *Pages) anonymousToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	token := newToken()
	http.SetCookie(w, p.cookie(csrfCookie, token, 0))
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
	return token
}

// cookie is one of the console's cookies: HttpOnly, SameSite=Lax, Secure
// under https, and sent to the console alone. maxAge 0 makes it last for
// the browser session, a negative one deletes it.
func (p *Pages) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: consolePath, HttpOnly: true, Secure: p.secure,
		SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge.Seconds())
	case maxAge < 0:
		c.MaxAge = -1
	}
	return c
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// RequireAdmin lets only a signed-in administrator through. Anyone else is
// sent to sign in, or to set the instance up when it has no administrator.
func (p *Pages) RequireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := sessionOf(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		setUp, err := p.hasAdmin(r.Context())
		if err != nil {
			p.fail(w, r, err)
			return
		}
		target := consolePath + "/setup"
		if setUp {
			target = consolePath + "/login"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

func (p *Pages) hasAdmin(ctx context.Context) (bool, error) {
	var n int
	err := p.store.View(ctx, func(tx *storage.Tx) (err error) {
		n, err = tx.CountAdmins()
		return err
	})
	return n > 0, err
}

// consoleFrame is the frame of a console page in section.
func consoleFrame(r *http.Request, section string) frame {
	f := frame{Section: section, Notice: notices[r.URL.Query().Get("done")]}
	f.CSRF, _ = r.Context().Value(csrfKey{}).(string)
	if s, ok := sessionOf(r.Context()); ok {
		f.Admin = s.Admin.Username
	}
	return f
}

// notices are what a console page says after the form that led to it
// worked; the redirect names one by its key.
var notices = map[string]string{
	"created":   "The group was created.",
	"saved":     "Saved.",
	"icon":      "The icon was uploaded and sent to the members' servers.",
	"approve":   "The request was approved; their server is told.",
	"reject":    "The request was turned down; their server is told.",
	"ban":       "The account is banned.",
	"unban":     "The ban was lifted.",
	"add":       "The moderator was added.",
	"remove":    "The moderator was removed.",
	"release":   "The post was published as the group's own.",
	"decline":   "The post was declined; its author is told.",
	"signedout": "You are signed out.",

	"remove-post": "The post was taken back from the members' servers; its author is told why.",
	"pin":         "The post is pinned to the group's profile; the members' servers are told.",
	"unpin":       "The post is unpinned; the members' servers are told.",
	"resolve":     "The report is resolved.",
	"block":       "The domain and its subdomains are blocked: nothing is taken from or sent to them any more.",
	"allow":       "The domain is allowed.",
	"unblock":     "The block is lifted. Memberships it ended stay ended: its accounts follow again to rejoin.",
	"disallow":    "The domain is off the allowlist.",
}

// credentialsPage is what the setup and sign-in pages show.
type credentialsPage struct {
	frame
	Username  string
	MinLength int
}

// SetupForm shows the form that creates the first administrator, on an
// instance that has none.
func (p *Pages) SetupForm(w http.ResponseWriter, r *http.Request) {
	setUp, err := p.hasAdmin(r.Context())
	switch {
	case err != nil:
		p.fail(w, r, err)
	case setUp:
		http.Redirect(w, r, consolePath+"/login", http.StatusSeeOther)
	default:
		p.render(w, r, http.StatusOK, "admin_setup.html", &credentialsPage{frame: consoleFrame(r, ""), MinLength: MinPasswordLength})
	}
}

// Setup creates the first administrator and signs them in.
func (p *Pages) Setup(w http.ResponseWriter, r *http.Request) {
	username, password := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	page := credentialsPage{frame: consoleFrame(r, ""), Username: username, MinLength: MinPasswordLength}
	if password != r.PostFormValue("password2") {
		page.Error = "The two passwords differ."
		p.render(w, r, http.StatusBadRequest, "admin_setup.html", &page)
		return
	}
	admin, err := createAdmin(r.Context(), p.store, username, password, p.passwordCost, true)
	switch {
	case errors.Is(err, ErrSetUp):
		http.Redirect(w, r, consolePath+"/login", http.StatusSeeOther)
		return
	case errors.Is(err, ErrBadAdmin):
		page.Error = err.Error()
		p.render(w, r, http.StatusBadRequest, "admin_setup.html", &page)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.log.Info("first administrator created", "admin", admin.Username)
	p.signIn(w, r, admin)
}

// LoginForm shows the sign-in form.
func (p *Pages) LoginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := sessionOf(r.Context()); ok {
		http.Redirect(w, r, consolePath+"/", http.StatusSeeOther)
		return
	}
	setUp, err := p.hasAdmin(r.Context())
	switch {
	case err != nil:
		p.fail(w, r, err)
	case !setUp:
		http.Redirect(w, r, consolePath+"/setup", http.StatusSeeOther)
	default:
		p.render(w, r, http.StatusOK, "admin_login.html", &credentialsPage{frame: consoleFrame(r, "")})
	}
}

// wrongPassword is a hash at the instance's cost, compared against when the
// username is unknown, so that a wrong name takes as long to refuse as a
// wrong password. It is made on the first such sign-in.
func (p *Pages) wrongPassword() []byte {
	p.unknownAdmin.Do(func() {
		p.unknownHash, _ = bcrypt.GenerateFromPassword([]byte(newToken()), p.passwordCost)
	})
	return p.unknownHash
}

// Login checks a username and password, within the login rate limit, and
// starts a session.
func (p *Pages) Login(w http.ResponseWriter, r *http.Request) {
	username, password := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	page := credentialsPage{frame: consoleFrame(r, ""), Username: username}
	var admin storage.Admin
	err := p.store.View(r.Context(), func(tx *storage.Tx) (err error) {
		admin, err = tx.AdminByName(username)
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		p.fail(w, r, err)
		return
	}
	if !p.allowSignIn(r, username, admin) {
		p.log.Warn("console sign-in rate limited", "address", p.fed.ClientAddress(r))
		page.Error = "Too many attempts. Wait a quarter of an hour and try again."
		p.render(w, r, http.StatusTooManyRequests, "admin_login.html", &page)
		return
	}
	hash := []byte(admin.PasswordHash)
	if err != nil {
		hash = p.wrongPassword()
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil {
		p.log.Info("console sign-in failed", "address", p.fed.ClientAddress(r))
		page.Error = "Wrong username or password."
		p.render(w, r, http.StatusUnauthorized, "admin_login.html", &page)
		return
	}
	p.signIn(w, r, admin)
}

// allowSignIn counts a sign-in attempt against the limits. Attempts are
// limited by client address and by username, which slows a guesser using
// many addresses but lets anyone lock an account's name; so a browser that
// has signed in to the account before, and shows it, counts apart, and
// whoever guesses from elsewhere cannot lock its administrator out.
func (p *Pages) allowSignIn(r *http.Request, username string, admin storage.Admin) bool {
	if c, err := r.Cookie(deviceCookie); err == nil && admin.PasswordHash != "" &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(deviceProof(admin))) == 1 {
		return p.logins.allow("device " + strings.ToLower(admin.Username))
	}
	return p.logins.allow("address "+p.fed.ClientAddress(r)) && p.logins.allow("name "+strings.ToLower(username))
}

// deviceProof is what a browser that signed in as admin keeps to show it
// did: a MAC of the account's name keyed with its password hash, which
// needs nothing stored, and which a new password retires.
func deviceProof(admin storage.Admin) string {
	mac := hmac.New(sha256.New, []byte(admin.PasswordHash))
	mac.Write([]byte("hearth console device\n" + strings.ToLower(admin.Username)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// signIn starts a session for admin and opens the console.
func (p *Pages) signIn(w http.ResponseWriter, r *http.Request, admin storage.Admin) {
	token := newToken()
	err := p.store.Update(r.Context(), func(tx *storage.Tx) error {
		if err := tx.ForgetExpiredSessions(); err != nil {
			return err
		}
		return tx.CreateSession(storage.Session{TokenHash: hashToken(token), Admin: admin, CSRFToken: newToken(),
			ExpiresAt: tx.Now().Add(sessionLifetime)})
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.SetCookie(w, p.cookie(sessionCookie, token, sessionLifetime))
	http.SetCookie(w, p.cookie(csrfCookie, "", -1))
	http.SetCookie(w, p.cookie(deviceCookie, deviceProof(admin), deviceLifetime))
	http.Redirect(w, r, consolePath+"/", http.StatusSeeOther)
}

// Logout ends the session.
func (p *Pages) Logout(w http.ResponseWriter, r *http.Request) {
	s, _ := sessionOf(r.Context())
	err := p.store.Update(r.Context(), func(tx *storage.Tx) error { return tx.DeleteSession(s.TokenHash) })
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.SetCookie(w, p.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, consolePath+"/login?done=signedout", http.StatusSeeOther)
}

// validText reports whether a form field is valid UTF-8 of at most max
// characters.
func validText(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max
}
