//go:build e2e

package clustersuite

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testMetricsAuth: the chart's default serves the controller's and the
// speakers' /metrics over HTTPS, to a ServiceAccount bound to the
// pylon-metrics-reader ClusterRole only: another ServiceAccount gets 403,
// no token 401, and plain HTTP nothing.
func testMetricsAuth(t *testing.T, e *env) {
	e.kubectl(t, "create", "serviceaccount", "-n", "demo", "scraper")
	e.kubectl(t, "create", "serviceaccount", "-n", "demo", "stranger")
	e.kubectl(t, "create", "clusterrolebinding", "scraper-metrics", "--clusterrole=pylon-metrics-reader", "--serviceaccount=demo:scraper")
	t.Cleanup(func() {
		e.kubectl(t, "delete", "clusterrolebinding", "scraper-metrics")
		e.kubectl(t, "delete", "serviceaccount", "-n", "demo", "scraper", "stranger")
	})
	scraper := strings.TrimSpace(e.kubectl(t, "create", "token", "-n", "demo", "scraper"))
	stranger := strings.TrimSpace(e.kubectl(t, "create", "token", "-n", "demo", "stranger"))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	targets := map[string]string{} // description → host:port
	for comp, port := range map[string]int{"controller": 7472, "speaker": 7473} {
		pods, err := e.readyPods(ctx, "pylon-system", "app.kubernetes.io/component="+comp)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range pods {
			targets[comp+" "+name] = net.JoinHostPort(p.Status.PodIP, fmt.Sprint(port))
		}
	}
	// From a node, which reaches pods and nodes alike; scrapers skip the
	// verification of a self-signed certificate.
	ns := e.c.Topo.MustHost("node1").NS
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: ns.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(url, token string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body), err
	}
	for what, addr := range targets {
		url := "https://" + addr + "/metrics"
		for _, c := range []struct {
			who, token string
			want       int
		}{{"scraper", scraper, http.StatusOK}, {"stranger", stranger, http.StatusForbidden}, {"nobody", "", http.StatusUnauthorized}} {
			code, body, err := get(url, c.token)
			if err != nil {
				t.Errorf("%s: %s: %v", what, c.who, err)
				continue
			}
			if code != c.want {
				t.Errorf("%s: %s got %d, want %d", what, c.who, code, c.want)
			}
			if code == http.StatusOK && !strings.Contains(body, "pylon_") && !strings.Contains(body, "go_") {
				t.Errorf("%s: %s got no metrics: %.200q", what, c.who, body)
			}
		}
		if code, _, err := get("http://"+addr+"/metrics", scraper); err == nil && code == http.StatusOK {
			t.Errorf("%s: plain HTTP served the metrics", what)
		}
	}
	t.Logf("checked /metrics of %d processes over HTTPS", len(targets))
}
