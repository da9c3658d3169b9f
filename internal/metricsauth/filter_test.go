package metricsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeReviewer knows tokens (token → user) and grants (user → paths).
type fakeReviewer struct {
	users       map[string]string
	grants      map[string][]string
	err         error
	authn, auth int // calls
}

func (f *fakeReviewer) Authenticate(_ context.Context, token string) (authnv1.UserInfo, bool, error) {
	f.authn++
	if f.err != nil {
		return authnv1.UserInfo{}, false, f.err
	}
	u, ok := f.users[token]
	return authnv1.UserInfo{Username: u, Groups: []string{"system:authenticated"}}, ok, nil
}

func (f *fakeReviewer) Authorize(_ context.Context, u authnv1.UserInfo, verb, path string) (bool, string, error) {
	f.auth++
	if f.err != nil {
		return false, "", f.err
	}
	for _, p := range f.grants[u.Username] {
		if verb == "get" && p == path {
			return true, "", nil
		}
	}
	return false, "no rule", nil
}

func serve(a *Authorizer, method, path, header string) int {
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	req := httptest.NewRequest(method, path, nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestWrap(t *testing.T) {
	rv := &fakeReviewer{
		users:  map[string]string{"good": "prometheus", "other": "someone"},
		grants: map[string][]string{"prometheus": {"/metrics"}},
	}
	a := New(Options{Reviewer: rv})
	for _, c := range []struct {
		name, method, path, header string
		want                       int
	}{
		{"no header", "GET", "/metrics", "", http.StatusUnauthorized},
		{"basic auth", "GET", "/metrics", "Basic Zm9vOmJhcg==", http.StatusUnauthorized},
		{"empty bearer", "GET", "/metrics", "Bearer ", http.StatusUnauthorized},
		{"unknown token", "GET", "/metrics", "Bearer nope", http.StatusUnauthorized},
		{"user without the grant", "GET", "/metrics", "Bearer other", http.StatusForbidden},
		{"granted user", "GET", "/metrics", "Bearer good", http.StatusOK},
		{"granted user, lower-case scheme", "GET", "/metrics", "bearer good", http.StatusOK},
		{"granted user, HEAD is get", "HEAD", "/metrics", "Bearer good", http.StatusOK},
		{"granted user, another verb", "POST", "/metrics", "Bearer good", http.StatusForbidden},
		{"granted user, another path", "GET", "/debug", "Bearer good", http.StatusForbidden},
	} {
		if got := serve(a, c.method, c.path, c.header); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}

// TestWrapFailsClosed: an API server that cannot be asked lets nobody in.
func TestWrapFailsClosed(t *testing.T) {
	rv := &fakeReviewer{err: errors.New("connection refused")}
	if got := serve(New(Options{Reviewer: rv}), "GET", "/metrics", "Bearer good"); got != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", got)
	}
}

// TestCache: answers are reused until their TTL, refusals for a shorter
// time, and a token's grant is asked again after it expires.
func TestCache(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1e9, 0))
	rv := &fakeReviewer{users: map[string]string{"good": "prometheus"}, grants: map[string][]string{}}
	a := New(Options{Reviewer: rv, Clock: clk, CacheTTL: time.Minute, DeniedTTL: 10 * time.Second})
	for range 3 {
		if got := serve(a, "GET", "/metrics", "Bearer good"); got != http.StatusForbidden {
			t.Fatalf("status %d, want 403 before the grant", got)
		}
	}
	if rv.authn != 1 || rv.auth != 1 {
		t.Errorf("%d token and %d access reviews for 3 requests, want 1 and 1", rv.authn, rv.auth)
	}
	rv.grants["prometheus"] = []string{"/metrics"}
	clk.SetTime(clk.Now().Add(5 * time.Second))
	if got := serve(a, "GET", "/metrics", "Bearer good"); got != http.StatusForbidden {
		t.Errorf("status %d, want the cached 403 within 10 s", got)
	}
	clk.SetTime(clk.Now().Add(6 * time.Second))
	if got := serve(a, "GET", "/metrics", "Bearer good"); got != http.StatusOK {
		t.Errorf("status %d, want 200 once the refusal expired", got)
	}
	delete(rv.grants, "prometheus")
	clk.SetTime(clk.Now().Add(30 * time.Second))
	if got := serve(a, "GET", "/metrics", "Bearer good"); got != http.StatusOK {
		t.Errorf("status %d, want the cached 200 within a minute", got)
	}
	clk.SetTime(clk.Now().Add(31 * time.Second))
	if got := serve(a, "GET", "/metrics", "Bearer good"); got != http.StatusForbidden {
		t.Errorf("status %d, want 403 once the grant's answer expired", got)
	}
}

// TestCacheBounded: a flood of distinct tokens does not grow the cache
// past its bound.
func TestCacheBounded(t *testing.T) {
	rv := &fakeReviewer{users: map[string]string{}}
	a := New(Options{Reviewer: rv})
	for i := range 3 * maxCached {
		serve(a, "GET", "/metrics", "Bearer t"+string(rune('a'+i%26))+time.Duration(i).String())
	}
	if n := len(a.users); n > maxCached {
		t.Errorf("%d cached tokens, bound %d", n, maxCached)
	}
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  x ", "Basic y", "", "Bearer", " Bearer\tz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if ok && tok == "" {
			t.Errorf("bearer(%q) = empty token, ok", h)
		}
	})
}
