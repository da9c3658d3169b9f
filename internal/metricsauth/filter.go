package metricsauth

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	DefaultCacheTTL = time.Minute
	// DefaultDeniedTTL is shorter: a scraper just granted access should
	// not wait long.
	DefaultDeniedTTL = 10 * time.Second
	// maxCached bounds each cache; past it the cache starts over (a flood
	// of random tokens must not grow memory).
	maxCached = 1024
	// reviewTimeout bounds one review at the API server.
	reviewTimeout = 10 * time.Second
)

// Options configure an Authorizer.
type Options struct {
	Reviewer Reviewer
	// CacheTTL is how long an allowed answer is kept, DeniedTTL a refused
	// one (defaults DefaultCacheTTL, DefaultDeniedTTL).
	CacheTTL, DeniedTTL time.Duration
	Clock               clock.PassiveClock // default: the real clock
	Logger              *slog.Logger       // default: discard
}

// Authorizer wraps handlers so that only authorized users reach them. It
// is safe for concurrent use.
type Authorizer struct {
	opts Options

	mu    sync.Mutex
	users map[[sha256.Size]byte]cachedUser // by token hash
	perms map[string]cachedPerm            // by user, verb and path
}

type cachedUser struct {
	user    authnv1.UserInfo
	ok      bool
	expires time.Time
}

type cachedPerm struct {
	allowed bool
	expires time.Time
}

// New returns an Authorizer asking opts.Reviewer.
func New(opts Options) *Authorizer {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.DeniedTTL <= 0 {
		opts.DeniedTTL = DefaultDeniedTTL
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Authorizer{opts: opts, users: map[[sha256.Size]byte]cachedUser{}, perms: map[string]cachedPerm{}}
}

// Wrap returns a handler that answers 401 to a request without a token
// the API server accepts, 403 to one whose user may not do the request's
// verb (get, for GET and HEAD) on its path, and passes the others to next.
// An API server that cannot be asked gets 503 (nothing is let through).
func (a *Authorizer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			http.Error(w, "Unauthorized: a bearer token is required", http.StatusUnauthorized)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), reviewTimeout)
		defer cancel()
		user, ok, err := a.authenticate(ctx, token)
		if err != nil {
			a.opts.Logger.Warn("cannot review a metrics request's token", "error", err)
			http.Error(w, "Service Unavailable: cannot review the token", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			http.Error(w, "Unauthorized: the API server does not accept the token", http.StatusUnauthorized)
			return
		}
		verb := verbOf(r.Method)
		allowed, err := a.authorize(ctx, user, verb, r.URL.Path)
		if err != nil {
			a.opts.Logger.Warn("cannot review a metrics request's access", "user", user.Username, "error", err)
			http.Error(w, "Service Unavailable: cannot review the access", http.StatusServiceUnavailable)
			return
		}
		if !allowed {
			http.Error(w, "Forbidden: user "+user.Username+" may not "+verb+" "+r.URL.Path, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate answers from the cache or asks the reviewer.
func (a *Authorizer) authenticate(ctx context.Context, token string) (authnv1.UserInfo, bool, error) {
	key := sha256.Sum256([]byte(token))
	now := a.opts.Clock.Now()
	a.mu.Lock()
	c, hit := a.users[key]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.user, c.ok, nil
	}
	user, ok, err := a.opts.Reviewer.Authenticate(ctx, token)
	if err != nil {
		return authnv1.UserInfo{}, false, err
	}
	a.mu.Lock()
	if len(a.users) >= maxCached {
		clear(a.users)
	}
	a.users[key] = cachedUser{user: user, ok: ok, expires: now.Add(a.ttl(ok))}
	a.mu.Unlock()
	return user, ok, nil
}

// authorize answers from the cache or asks the reviewer.
func (a *Authorizer) authorize(ctx context.Context, user authnv1.UserInfo, verb, path string) (bool, error) {
	key := permKey(user, verb, path)
	now := a.opts.Clock.Now()
	a.mu.Lock()
	c, hit := a.perms[key]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.allowed, nil
	}
	allowed, _, err := a.opts.Reviewer.Authorize(ctx, user, verb, path)
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	if len(a.perms) >= maxCached {
		clear(a.perms)
	}
	a.perms[key] = cachedPerm{allowed: allowed, expires: now.Add(a.ttl(allowed))}
	a.mu.Unlock()
	return allowed, nil
}

func (a *Authorizer) ttl(ok bool) time.Duration {
	if ok {
		return a.opts.CacheTTL
	}
	return a.opts.DeniedTTL
}

// bearer extracts the token of an "Authorization: Bearer ..." header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// verbOf maps an HTTP method to the API server's verb for non-resource
// URLs.
func verbOf(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPost:
		return "post"
	case http.MethodPut:
		return "put"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(method)
}

// permKey identifies a user's request for the permission cache: the
// user, the groups (which the authorization may depend on), verb, path.
func permKey(u authnv1.UserInfo, verb, path string) string {
	return u.Username + "\x00" + u.UID + "\x00" + strings.Join(u.Groups, "\x01") + "\x00" + verb + "\x00" + path
}
