package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// sessionCookie holds a sign-in's random token; the database keeps only
// its hash, bound to the API key signed in with.
const sessionCookie = "tally_session"

// viewer is who looks at a page, and how.
type viewer struct {
	p auth.Principal
	// base is where the pages are: "/" in a session, "/share/TOKEN/"
	// through a share link.
	base string
	// shared: a share link, read-only, with customer names and emails
	// hidden; embed: it may be framed by any site.
	shared, embed bool
	// csrf is the session's form token ("" through a share link).
	csrf string
}

func (v viewer) canWrite() bool { return !v.shared && v.p.CanWrite() }

type viewerKey struct{}

func viewerOf(r *http.Request) viewer {
	v, _ := r.Context().Value(viewerKey{}).(viewer)
	return v
}

func withViewer(r *http.Request, v viewer) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), viewerKey{}, v))
}

// csrfToken is the form token of a session: derived from the cookie's
// secret, so a page from another site, which can read neither, cannot
// forge it, and nothing more is stored.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("tally csrf\x00" + sessionToken))
	return hex.EncodeToString(sum[:])
}

// session lets a signed-in browser through and sends anyone else to the
// sign-in page. A session dies with its key: the lookup joins the key and
// refuses a revoked one, at every request.
func (w *Web) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			w.toLogin(rw, r)
			return
		}
		s, err := w.store.UISessionByHash(r.Context(), auth.Hash(c.Value), w.opts.Now())
		if errors.Is(err, store.ErrNotFound) {
			http.SetCookie(rw, w.cookie(r, "", -1))
			w.toLogin(rw, r)
			return
		}
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		v := viewer{p: auth.Principal{Key: s.Key, Account: s.Account}, base: "/", csrf: csrfToken(c.Value)}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(v.csrf)) != 1 {
				w.render(rw, r, http.StatusForbidden, "error", page{Title: "Refused", Message: "This form has expired or did not come from this dashboard. Reload the page and try again."})
				return
			}
		}
		next.ServeHTTP(rw, withViewer(r, v))
	})
}

// writes refuses a state-changing page to a read-only viewer.
func (w *Web) writes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !viewerOf(r).canWrite() {
			w.render(rw, r, http.StatusForbidden, "error", page{Title: "Read-only", Message: "This sign-in has read-only access: it cannot change anything."})
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// share serves the pages through a share link: /share/TOKEN/… with the
// link's account, read-only and without customer names. A revoked link
// is gone at its next request.
func (w *Web) share(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.render(rw, r, http.StatusForbidden, "error", page{Title: "Read-only", Message: "A share link cannot change anything."})
			return
		}
		link, acct, err := w.store.ShareLinkByHash(r.Context(), auth.Hash(token))
		if errors.Is(err, store.ErrNotFound) {
			w.render(rw, r, http.StatusNotFound, "error", page{Title: "Not found", Message: "This share link does not exist or was revoked."})
			return
		}
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		// A share link acts as a read key of its own (negative id, so
		// the API's per-key limits count it apart from real keys).
		p := auth.Principal{Account: acct, Key: billing.APIKey{ID: -link.ID, AccountID: acct.ID, Access: billing.AccessRead}}
		v := viewer{p: p, base: "/share/" + token + "/", shared: true, embed: link.Embed}
		// The token is in the path: no page of a share link tells another
		// site where it came from.
		rw.Header().Set("Referrer-Policy", "no-referrer")
		if link.Embed {
			rw.Header().Set("Content-Security-Policy", csp(true))
			rw.Header().Del("X-Frame-Options")
		}
		r2 := withViewer(r, v)
		r2.URL = cloneURL(r.URL)
		r2.URL.Path = "/" + strings.TrimPrefix(r.URL.Path, "/share/"+token+"/")
		r2.URL.RawPath = ""
		next.ServeHTTP(rw, r2)
	})
}

// toLogin sends a browser without a session to the sign-in page, and a
// script (the live refresh) a plain 401.
func (w *Web) toLogin(rw http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Tally-Live") != "" {
		http.Error(rw, "Signed out.", http.StatusUnauthorized)
		return
	}
	http.Redirect(rw, r, "/login", http.StatusSeeOther)
}

// cookie is the session cookie: HttpOnly, SameSite=Lax, Secure when the
// browser came over TLS (directly, or per a trusted proxy).
func (w *Web) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	secure := r.TLS != nil || (w.opts.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure}
}

// startSession signs the browser in as key k and sends it home.
func (w *Web) startSession(rw http.ResponseWriter, r *http.Request, k billing.APIKey) error {
	token := auth.NewToken()
	expires := w.opts.Now().Add(w.opts.SessionLifetime)
	if err := w.store.CreateUISession(r.Context(), k.ID, auth.Hash(token), expires); err != nil {
		return err
	}
	http.SetCookie(rw, w.cookie(r, token, int(w.opts.SessionLifetime/time.Second)))
	http.Redirect(rw, r, "/", http.StatusSeeOther)
	return nil
}

func (w *Web) loginPage(rw http.ResponseWriter, r *http.Request) error {
	w.render(rw, r, http.StatusOK, "login", page{Title: "Sign in"})
	return nil
}

// login checks a key typed into the sign-in form.
func (w *Web) login(rw http.ResponseWriter, r *http.Request) error {
	// A try is taken before the key is looked up, so that attempts in
	// parallel count too, and given back when the key is good.
	try, ok := w.signIn.take(clientIP(r))
	if !ok {
		return w.tooManySignIns(rw, r)
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 4<<10)
	key := strings.TrimSpace(r.PostFormValue("key"))
	k, _, err := w.store.KeyByHash(r.Context(), auth.Hash(key))
	if err == nil && key != "" {
		try.Cancel()
	}
	if key == "" || errors.Is(err, store.ErrNotFound) {
		w.render(rw, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Message: "That is not a valid API key."})
		return nil
	}
	if err != nil {
		return err
	}
	return w.startSession(rw, r, k)
}

// loginLinkPage shows a one-time link's button. Opening the link spends
// nothing: link previews and mail scanners fetch links, and a page of
// another site could make a browser GET one; only the button's POST,
// which cross-origin protection guards, signs in.
func (w *Web) loginLinkPage(rw http.ResponseWriter, r *http.Request) error {
	pg := page{Title: "Sign in"}
	pg.Data = map[string]string{"Action": "/login/" + r.PathValue("token")}
	w.render(rw, r, http.StatusOK, "login", pg)
	return nil
}

// loginLink signs in with a one-time link from `tally ui-link`. It is
// not counted against the address's sign-ins: its token is 256 random
// bits, used once, and a flood of bad keys from a shared address must not
// lock out the link an operator just made.
func (w *Web) loginLink(rw http.ResponseWriter, r *http.Request) error {
	k, _, err := w.store.UseLoginToken(r.Context(), auth.Hash(r.PathValue("token")), w.opts.Now())
	if errors.Is(err, store.ErrNotFound) {
		w.render(rw, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Message: "This sign-in link was used already, has expired or its key was revoked. Make a new one with tally ui-link, or sign in with an API key."})
		return nil
	}
	if err != nil {
		return err
	}
	return w.startSession(rw, r, k)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := w.store.DeleteUISession(r.Context(), auth.Hash(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(rw, w.cookie(r, "", -1))
	http.Redirect(rw, r, "/login", http.StatusSeeOther)
	return nil
}

func (w *Web) tooManySignIns(rw http.ResponseWriter, r *http.Request) error {
	rw.Header().Set("Retry-After", "10")
	w.render(rw, r, http.StatusTooManyRequests, "login", page{Title: "Sign in", Message: "Too many failed sign-ins from here: wait a few seconds and try again."})
	return nil
}

// signInLimiter bounds failed sign-ins per client address (a key has 192
// random bits, but nobody gets to try many): once 10 have failed, one
// attempt every 2 s. Only failures count, so a team behind one address
// signing in is never held up. Its map is emptied when it grows past its
// bound, so a flood of addresses cannot grow it without limit.
type signInLimiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

const (
	signInLimiterMax = 10000
	signInBurst      = 10
)

func newSignInLimiter() *signInLimiter { return &signInLimiter{m: map[string]*rate.Limiter{}} }

// take takes a try from ip's bucket, reporting whether one was left; the
// reservation's Cancel gives it back.
func (l *signInLimiter) take(ip string) (*rate.Reservation, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, seen := l.m[ip]
	if !seen {
		if len(l.m) >= signInLimiterMax {
			// Full buckets (no failure for 20 s) hold nothing worth
			// keeping; the others stay, so a flood of new addresses
			// cannot wipe what is counted.
			for k, b := range l.m {
				if b.Tokens() >= signInBurst {
					delete(l.m, k)
				}
			}
			if len(l.m) >= signInLimiterMax {
				return nil, false
			}
		}
		lim = rate.NewLimiter(rate.Every(2*time.Second), signInBurst)
		l.m[ip] = lim
	}
	res := lim.Reserve()
	if res.Delay() > 0 {
		res.Cancel()
		return nil, false
	}
	return res, true
}

// clientIP is the address failures are counted by: an IPv6 client by its
// /64, which one host usually holds whole.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String()
	}
	return host
}

// redactPath keeps share and sign-in tokens out of the log.
func redactPath(p string) string {
	for _, prefix := range []string{"/share/", "/login/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			_, tail, _ := strings.Cut(rest, "/")
			if tail != "" || strings.HasSuffix(rest, "/") {
				return prefix + "…/" + tail
			}
			return prefix + "…"
		}
	}
	return p
}

func cloneURL(u *url.URL) *url.URL {
	c := *u
	return &c
}
