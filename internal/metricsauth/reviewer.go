package metricsauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
)

// Reviewer asks the API server about a request's credentials.
type Reviewer interface {
	// Authenticate returns the user a bearer token belongs to, or ok
	// false when the API server does not accept it.
	Authenticate(ctx context.Context, token string) (user authnv1.UserInfo, ok bool, err error)
	// Authorize reports whether user may do verb on the non-resource
	// path, and the API server's reason when not.
	Authorize(ctx context.Context, user authnv1.UserInfo, verb, path string) (allowed bool, reason string, err error)
}

// REST is a Reviewer posting TokenReviews and SubjectAccessReviews with
// the process's own API credentials (it needs RBAC to create both).
type REST struct {
	base string // the API server's URL, without a trailing slash
	http *http.Client
}

var _ Reviewer = (*REST)(nil)

// NewREST builds a REST reviewer for cfg; hc, when not nil, is the HTTP
// client to use (it must carry cfg's credentials). It opens no connection.
func NewREST(cfg *rest.Config, hc *http.Client) (*REST, error) {
	if hc == nil {
		var err error
		if hc, err = rest.HTTPClientFor(cfg); err != nil {
			return nil, fmt.Errorf("API HTTP client for metrics authorization: %w", err)
		}
	}
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("API server URL for metrics authorization: %w", err)
	}
	return &REST{base: strings.TrimRight(u.String(), "/"), http: hc}, nil
}

// Authenticate posts a TokenReview.
func (r *REST) Authenticate(ctx context.Context, token string) (authnv1.UserInfo, bool, error) {
	in := authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}
	in.APIVersion, in.Kind = "authentication.k8s.io/v1", "TokenReview"
	var out authnv1.TokenReview
	if err := r.post(ctx, "/apis/authentication.k8s.io/v1/tokenreviews", &in, &out); err != nil {
		return authnv1.UserInfo{}, false, err
	}
	return out.Status.User, out.Status.Authenticated, nil
}

// Authorize posts a SubjectAccessReview of a non-resource URL.
func (r *REST) Authorize(ctx context.Context, user authnv1.UserInfo, verb, path string) (bool, string, error) {
	in := authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra(user.Extra),
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}
	in.APIVersion, in.Kind = "authorization.k8s.io/v1", "SubjectAccessReview"
	var out authzv1.SubjectAccessReview
	if err := r.post(ctx, "/apis/authorization.k8s.io/v1/subjectaccessreviews", &in, &out); err != nil {
		return false, "", err
	}
	return out.Status.Allowed && !out.Status.Denied, out.Status.Reason, nil
}

// post sends in as JSON to path and decodes the answer into out.
func (r *REST) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post %s: %s: %s", path, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// extra converts a TokenReview's extra user data to a review's.
func extra(in map[string]authnv1.ExtraValue) map[string]authzv1.ExtraValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]authzv1.ExtraValue, len(in))
	for k, v := range in {
		out[k] = authzv1.ExtraValue(v)
	}
	return out
}
