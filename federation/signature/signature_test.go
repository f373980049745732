package signature

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
	"github.com/hearth-social/hearth/activitypub"
)

const testKeyID = "https://hearth.example/g/grief#main-key"

var (
	keysOnce sync.Once
	keys     [2]*rsa.PrivateKey
	keysErr  error
)

// testKeys returns two RSA keys shared by every test in the package, since
// generating one takes a noticeable fraction of a second.
func testKeys(tb testing.TB) (signing, other *rsa.PrivateKey) {
	tb.Helper()
	keysOnce.Do(func() {
		for i := range keys {
			if keys[i], keysErr = activitypub.GenerateKey(); keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		tb.Fatal(keysErr)
	}
	return keys[0], keys[1]
}

var activity = []byte(`{"type":"Announce","actor":"https://hearth.example/g/grief","object":"https://mastodon.example/notes/1"}`)

func newPost(tb testing.TB, body []byte) *http.Request {
	tb.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://mastodon.example/users/alice/inbox", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set("Content-Type", activitypub.ContentType)
	return r
}

func newGet(tb testing.TB) *http.Request {
	tb.Helper()
	r, err := http.NewRequest(http.MethodGet, "https://mastodon.example/users/alice/statuses/1?page=true", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func signedPost(tb testing.TB, body []byte) (*http.Request, time.Time) {
	tb.Helper()
	key, _ := testKeys(tb)
	r := newPost(tb, body)
	if err := NewSigner(testKeyID, key).SignPost(r, body); err != nil {
		tb.Fatal(err)
	}
	return r, signedDate(tb, r)
}

func signedDate(tb testing.TB, r *http.Request) time.Time {
	tb.Helper()
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		tb.Fatalf("Date %q: %v", r.Header.Get("Date"), err)
	}
	return date
}

// goFedSign signs r the way another server using go-fed would, with the
// given headers and whatever Date, Host and Digest r already carries.
func goFedSign(tb testing.TB, r *http.Request, key *rsa.PrivateKey, headers []string, expiresIn int64) {
	tb.Helper()
	if r.Header.Get("Host") == "" {
		r.Header.Set("Host", r.URL.Host)
	}
	if r.Header.Get("Date") == "" {
		r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, expiresIn)
	if err != nil {
		tb.Fatal(err)
	}
	if err := signer.SignRequest(key, testKeyID, r, nil); err != nil {
		tb.Fatal(err)
	}
}

func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// verifyingServer answers 202 to requests that Verify accepts and 401 with
// the reason otherwise, as an inbox would.
func verifyingServer(t *testing.T, key crypto.PublicKey) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := Verify(r, body, key, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func TestRoundTripOverHTTP(t *testing.T) {
	key, _ := testKeys(t)
	srv := verifyingServer(t, &key.PublicKey)
	signer := NewSigner(testKeyID, key)

	t.Run("POST", func(t *testing.T) {
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/g/grief/inbox", bytes.NewReader(activity))
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.SignPost(r, activity); err != nil {
			t.Fatal(err)
		}
		if status, reason := send(t, r); status != http.StatusAccepted {
			t.Fatalf("signed POST: got %d %q, want 202", status, reason)
		}
	})
	t.Run("GET", func(t *testing.T) {
		r, err := http.NewRequest(http.MethodGet, srv.URL+"/g/grief?page=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.SignGet(r); err != nil {
			t.Fatal(err)
		}
		if status, reason := send(t, r); status != http.StatusAccepted {
			t.Fatalf("signed GET: got %d %q, want 202", status, reason)
		}
	})
	t.Run("body changed on the way", func(t *testing.T) {
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/g/grief/inbox", strings.NewReader(`{"type":"Delete"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.SignPost(r, activity); err != nil {
			t.Fatal(err)
		}
		status, reason := send(t, r)
		if status != http.StatusUnauthorized || reason != "digest does not match body" {
			t.Fatalf("tampered POST: got %d %q, want 401 %q", status, reason, "digest does not match body")
		}
	})
}

func TestSignPostHeaders(t *testing.T) {
	r, _ := signedPost(t, activity)
	sig := r.Header.Get("Signature")
	for _, want := range []string{
		`keyId="` + testKeyID + `"`,
		`algorithm="rsa-sha256"`,
		`headers="(request-target) host date digest"`,
	} {
		if !strings.Contains(sig, want) {
			t.Errorf("Signature %q lacks %s", sig, want)
		}
	}
	if got, want := r.Header.Get("Digest"), "SHA-256="+digestOf(activity); got != want {
		t.Errorf("Digest: got %q, want %q", got, want)
	}
	if got := r.Header.Get("Host"); got != "mastodon.example" {
		t.Errorf("Host: got %q, want mastodon.example", got)
	}
	if got := r.Header.Get("Date"); !strings.HasSuffix(got, " GMT") {
		t.Errorf("Date %q is not an HTTP date in GMT", got)
	}
}

func TestSignGetHeaders(t *testing.T) {
	key, _ := testKeys(t)
	r := newGet(t)
	if err := NewSigner(testKeyID, key).SignGet(r); err != nil {
		t.Fatal(err)
	}
	if sig := r.Header.Get("Signature"); !strings.Contains(sig, `headers="(request-target) host date"`) {
		t.Errorf("Signature %q does not sign (request-target) host date", sig)
	}
	if d := r.Header.Get("Digest"); d != "" {
		t.Errorf("GET carries Digest %q", d)
	}
	if err := Verify(r, nil, &key.PublicKey, signedDate(t, r)); err != nil {
		t.Fatalf("Verify(signed GET) = %v", err)
	}
}

func TestSigningTwiceReplacesSignature(t *testing.T) {
	key, _ := testKeys(t)
	r := newPost(t, activity)
	signer := NewSigner(testKeyID, key)
	for range 2 {
		if err := signer.SignPost(r, activity); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.Header.Values("Signature")); n != 1 {
		t.Fatalf("got %d Signature headers after signing twice, want 1", n)
	}
	if err := Verify(r, activity, &key.PublicKey, signedDate(t, r)); err != nil {
		t.Fatalf("Verify after re-signing = %v", err)
	}
}

func TestVerifyTimeWindow(t *testing.T) {
	key, _ := testKeys(t)
	r, date := signedPost(t, activity)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"just signed", date, nil},
		{"64 minutes old", date.Add(64 * time.Minute), nil},
		{"66 minutes old", date.Add(66 * time.Minute), ErrDateTooOld},
		{"59 minutes ahead", date.Add(-59 * time.Minute), nil},
		{"61 minutes ahead", date.Add(-61 * time.Minute), ErrDateInFuture},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := Verify(r, activity, &key.PublicKey, test.now)
			if !errors.Is(err, test.want) || (test.want == nil) != (err == nil) {
				t.Fatalf("Verify at %v after Date = %v, want %v", test.now.Sub(date), err, test.want)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	key, otherKey := testKeys(t)
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
		body    []byte
		key     *rsa.PublicKey
		want    error
		message string
	}{
		{
			name:    "tampered body",
			request: func(t *testing.T) *http.Request { r, _ := signedPost(t, activity); return r },
			body:    []byte(`{"type":"Delete"}`),
			want:    ErrDigestMismatch,
			message: "digest does not match body",
		},
		{
			name:    "wrong key",
			request: func(t *testing.T) *http.Request { r, _ := signedPost(t, activity); return r },
			key:     &otherKey.PublicKey,
			want:    ErrInvalidSignature,
			message: "signature does not verify",
		},
		{
			name: "tampered request target",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.URL.Path = "/users/bob/inbox"
				return r
			},
			want: ErrInvalidSignature,
		},
		{
			name: "digest sent but not signed",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-256="+digestOf(activity))
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "host", "date"}, 0)
				return r
			},
			want:    ErrNotCovered,
			message: "required header is not signed: digest",
		},
		{
			name: "date not signed",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-256="+digestOf(activity))
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "host", "digest"}, 0)
				return r
			},
			want: ErrNotCovered,
		},
		{
			name: "request target not signed",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-256="+digestOf(activity))
				goFedSign(t, r, key, []string{"host", "date", "digest"}, 0)
				return r
			},
			want: ErrNotCovered,
		},
		{
			name: "GET without host signed",
			request: func(t *testing.T) *http.Request {
				r := newGet(t)
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "date"}, 0)
				return r
			},
			want: ErrNotCovered,
		},
		{
			name: "no headers list means date only",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				goFedSign(t, r, key, nil, 0)
				r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `headers="date",`, "", 1))
				return r
			},
			want: ErrNotCovered,
		},
		{
			name: "digest of another algorithm",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-512=z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==")
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "host", "date", "digest"}, 0)
				return r
			},
			want:    ErrDigestAlgorithm,
			message: "unsupported digest algorithm: Digest needs a SHA-256 value",
		},
		{
			name: "signed digest header absent",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.Header.Del("Digest")
				return r
			},
			want: ErrMissingHeader,
		},
		{
			name: "unsupported algorithm label",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "ed25519", 1))
				return r
			},
			want: ErrUnsupportedAlgorithm,
		},
		{
			name:    "no Signature header",
			request: func(t *testing.T) *http.Request { return newPost(t, activity) },
			want:    ErrNoSignature,
		},
		{
			name: "repeated headers parameter",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.Header.Set("Signature", r.Header.Get("Signature")+`,headers="date"`)
				return r
			},
			want: ErrMalformed,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			r := test.request(t)
			body, pub := test.body, test.key
			if body == nil {
				body = activity
			}
			if pub == nil {
				pub = &key.PublicKey
			}
			err := Verify(r, body, pub, time.Now())
			if !errors.Is(err, test.want) {
				t.Fatalf("Verify = %v, want %v", err, test.want)
			}
			var sigErr *Error
			if !errors.As(err, &sigErr) {
				t.Errorf("Verify returned %T, want *Error", err)
			}
			if test.message != "" && err.Error() != test.message {
				t.Errorf("message: got %q, want %q", err.Error(), test.message)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	key, _ := testKeys(t)
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
	}{
		{
			name: "our own signature",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				return r
			},
		},
		{
			name: "hs2019 label",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="rsa-sha256"`, `algorithm="hs2019"`, 1))
				return r
			},
		},
		{
			name: "no algorithm label",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="rsa-sha256",`, "", 1))
				return r
			},
		},
		{
			name: "signed independently with go-fed",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-256="+digestOf(activity))
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "host", "date", "digest"}, 0)
				return r
			},
		},
		{
			name: "lower-case digest algorithm",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "sha-256="+digestOf(activity))
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "host", "date", "digest"}, 0)
				return r
			},
		},
		{
			name: "several digests",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "MD5=AAAA, SHA-256="+digestOf(activity))
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "host", "date", "digest"}, 0)
				return r
			},
		},
		{
			name: "created and expires instead of date",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-256="+digestOf(activity))
				goFedSign(t, r, key, []string{httpsig.RequestTarget, "(created)", "(expires)", "host", "digest"}, 300)
				return r
			},
		},
		{
			name: "spaces after commas",
			request: func(t *testing.T) *http.Request {
				r, _ := signedPost(t, activity)
				r.Header.Set("Signature", strings.ReplaceAll(r.Header.Get("Signature"), `",`, `", `))
				return r
			},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if err := Verify(test.request(t), activity, &key.PublicKey, time.Now()); err != nil {
				t.Fatalf("Verify = %v, want success", err)
			}
		})
	}
}

func TestVerifyCreatedWindow(t *testing.T) {
	key, _ := testKeys(t)
	r := newPost(t, activity)
	r.Header.Set("Digest", "SHA-256="+digestOf(activity))
	goFedSign(t, r, key, []string{httpsig.RequestTarget, "(created)", "host", "digest"}, 300)
	p, err := cavageParamsOf(r)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(p.created, 0)
	if err := Verify(r, activity, &key.PublicKey, created.Add(MaxAge-time.Minute)); err != nil {
		t.Errorf("Verify %v after created = %v, want success", MaxAge-time.Minute, err)
	}
	if err := Verify(r, activity, &key.PublicKey, created.Add(MaxAge+time.Minute)); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify %v after created = %v, want %v", MaxAge+time.Minute, err, ErrExpired)
	}
	if err := Verify(r, activity, &key.PublicKey, created.Add(-Skew-time.Minute)); !errors.Is(err, ErrDateInFuture) {
		t.Errorf("Verify %v before created = %v, want %v", Skew+time.Minute, err, ErrDateInFuture)
	}
}

// An expires parameter binds the signature only when (expires) is among the
// signed headers; appended afterwards, it must not stretch the window.
func TestUnsignedExpiresDoesNotExtendTheWindow(t *testing.T) {
	key, _ := testKeys(t)
	signedWithCreated := map[string]func(t *testing.T) (*http.Request, []byte){
		"POST": func(t *testing.T) (*http.Request, []byte) {
			r := newPost(t, activity)
			r.Header.Set("Digest", "SHA-256="+digestOf(activity))
			goFedSign(t, r, key, []string{httpsig.RequestTarget, "(created)", "host", "digest"}, 300)
			return r, activity
		},
		"GET": func(t *testing.T) (*http.Request, []byte) {
			r := newGet(t)
			goFedSign(t, r, key, []string{httpsig.RequestTarget, "(created)", "host"}, 300)
			return r, nil
		},
	}
	for method, sign := range signedWithCreated {
		t.Run(method, func(t *testing.T) {
			r, body := sign(t)
			p, err := cavageParamsOf(r)
			if err != nil {
				t.Fatal(err)
			}
			later := time.Unix(p.created, 0).Add(2 * time.Hour)
			if err := Verify(r, body, &key.PublicKey, later); !errors.Is(err, ErrExpired) {
				t.Fatalf("Verify two hours after created = %v, want %v", err, ErrExpired)
			}
			r.Header.Set("Signature", r.Header.Get("Signature")+",expires="+strconv.FormatInt(later.Add(time.Hour).Unix(), 10))
			if err := Verify(r, body, &key.PublicKey, later); !errors.Is(err, ErrExpired) {
				t.Errorf("Verify with an unsigned expires appended = %v, want %v", err, ErrExpired)
			}
			if err := Precheck(r, body, later); !errors.Is(err, ErrExpired) {
				t.Errorf("Precheck with an unsigned expires appended = %v, want %v", err, ErrExpired)
			}
		})
	}
}

func TestSignedExpiresExtendsTheWindow(t *testing.T) {
	key, _ := testKeys(t)
	r := newPost(t, activity)
	r.Header.Set("Digest", "SHA-256="+digestOf(activity))
	goFedSign(t, r, key, []string{httpsig.RequestTarget, "(created)", "(expires)", "host", "digest"}, int64((3 * time.Hour).Seconds()))
	p, err := cavageParamsOf(r)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Unix(p.created, 0).Add(2 * time.Hour)
	if err := Verify(r, activity, &key.PublicKey, later); err != nil {
		t.Errorf("Verify two hours after created, expiring after three = %v, want success", err)
	}
}

func TestKeyID(t *testing.T) {
	tests := []struct {
		header string
		want   string
		err    error
	}{
		{`keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="date",signature="c2ln"`, "https://a.example/u#k", nil},
		{`keyId="https://a.example/u#k", headers="date", signature="c2ln"`, "https://a.example/u#k", nil},
		{`signature="c2ln",keyId=https://a.example/u#k`, "https://a.example/u#k", nil},
		{`KEYID="https://a.example/u#k",signature="c2ln"`, "https://a.example/u#k", nil},
		{`keyId="",signature="c2ln"`, "", ErrMalformed},
		{`headers="date",signature="c2ln"`, "", ErrMalformed},
		{`keyId="https://a.example/u#k"`, "", ErrMalformed},
		{`keyId="https://a.example/u,k",signature="c2ln"`, "", ErrMalformed},
		{`keyId="https://a.example/u#k,signature="c2ln"`, "", ErrMalformed},
		{`keyId="a",keyId="b",signature="c2ln"`, "", ErrMalformed},
		{`keyId="a";signature="c2ln"`, "", ErrMalformed},
		{`garbage`, "", ErrMalformed},
	}
	for _, test := range tests {
		r := newPost(t, nil)
		r.Header.Set("Signature", test.header)
		got, err := KeyID(r)
		if got != test.want || !errors.Is(err, test.err) || (test.err == nil) != (err == nil) {
			t.Errorf("KeyID(%s) = %q, %v; want %q, %v", test.header, got, err, test.want, test.err)
		}
	}
}

func TestKeyIDWithoutSignature(t *testing.T) {
	r := newPost(t, nil)
	if _, err := KeyID(r); !errors.Is(err, ErrNoSignature) {
		t.Errorf("KeyID(unsigned) error = %v, want %v", err, ErrNoSignature)
	}
	r.Header.Set("Signature-Input", `sig1=("@method");created=1700000000;keyid="k"`)
	if _, err := KeyID(r); !errors.Is(err, ErrNoSignature) {
		t.Errorf("KeyID(Signature-Input without Signature) error = %v, want %v", err, ErrNoSignature)
	}
}

func TestSignerIsSafeForConcurrentUse(t *testing.T) {
	key, _ := testKeys(t)
	signer := NewSigner(testKeyID, key)
	const workers, perWorker = 8, 4
	errs := make(chan error, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				body := []byte(`{"type":"Announce","n":"` + strings.Repeat("x", w*perWorker+i) + `"}`)
				r, err := http.NewRequest(http.MethodPost, "https://mastodon.example/inbox", bytes.NewReader(body))
				if err != nil {
					errs <- err
					continue
				}
				if err := signer.SignPost(r, body); err != nil {
					errs <- err
					continue
				}
				errs <- Verify(r, body, &key.PublicKey, time.Now())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkSignPost(b *testing.B) {
	key, _ := testKeys(b)
	signer := NewSigner(testKeyID, key)
	body := bytes.Repeat([]byte("a"), 2048)
	for b.Loop() {
		r, err := http.NewRequest(http.MethodPost, "https://mastodon.example/inbox", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if err := signer.SignPost(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrecheckRefusesStaleAndTamperedRequestsWithoutAKey(t *testing.T) {
	key, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := NewSigner("https://remote.example/users/a#main-key", key)
	body := []byte(`{"type":"Follow"}`)
	sign := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "https://hearth.example/inbox", bytes.NewReader(body))
		if err := signer.SignPost(r, body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	now := time.Now()
	if err := Precheck(sign(), body, now); err != nil {
		t.Errorf("fresh request: %v", err)
	}
	if err := Precheck(sign(), []byte(`{"type":"Undo"}`), now); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered body: got %v, want ErrDigestMismatch", err)
	}
	if err := Precheck(sign(), body, now.Add(2*time.Hour)); !errors.Is(err, ErrDateTooOld) {
		t.Errorf("stale date: got %v, want ErrDateTooOld", err)
	}
}
