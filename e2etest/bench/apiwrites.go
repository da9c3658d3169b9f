package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// APIWrites counts the API server's write requests (POST, PUT, PATCH,
// APPLY, DELETE) by resource, "resource" or "resource/subresource", as its
// apiserver_request_total metric reports them.
type APIWrites map[string]float64

// writeVerbs are the request verbs that write.
var writeVerbs = []string{"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}

// ReadAPIWrites reads the API server's /metrics (as the lab's admin).
func ReadAPIWrites(ctx context.Context, c kubernetes.Interface) (APIWrites, error) {
	b, err := c.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read API server metrics: %w", err)
	}
	return ParseAPIWrites(b)
}

// ParseAPIWrites sums apiserver_request_total over write verbs by
// resource from the Prometheus text format. Lines it does not need are
// skipped; a malformed apiserver_request_total line is an error.
func ParseAPIWrites(text []byte) (APIWrites, error) {
	out := APIWrites{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, err := splitSample(rest)
		if err != nil {
			return nil, fmt.Errorf("parse metric line %q: %w", line, err)
		}
		if !slices.Contains(writeVerbs, labels["verb"]) {
			continue
		}
		key := labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		out[key] += value
	}
	return out, sc.Err()
}

// splitSample parses `k="v",k2="v2"} 12` (after the metric name's brace).
func splitSample(s string) (map[string]string, float64, error) {
	labels := map[string]string{}
	for {
		if after, ok := strings.CutPrefix(s, "}"); ok {
			f := strings.Fields(after)
			if len(f) == 0 {
				return nil, 0, fmt.Errorf("no value")
			}
			v, err := strconv.ParseFloat(f[0], 64)
			return labels, v, err
		}
		eq := strings.Index(s, `="`)
		if eq <= 0 {
			return nil, 0, fmt.Errorf("bad label at %q", s)
		}
		name := s[:eq]
		val, rest, err := quoted(s[eq+1:])
		if err != nil {
			return nil, 0, err
		}
		labels[name] = val
		s = strings.TrimPrefix(rest, ",")
	}
}

// quoted reads a double-quoted label value with \\, \" and \n escapes.
func quoted(s string) (val, rest string, err error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("unterminated escape")
			}
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated label value")
}

// Sub returns w minus old, per resource (resources that did not change
// are left out).
func (w APIWrites) Sub(old APIWrites) APIWrites {
	out := APIWrites{}
	for k, v := range w {
		if d := v - old[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// Total is the sum over resources.
func (w APIWrites) Total() float64 {
	var t float64
	for _, v := range w {
		t += v
	}
	return t
}

// Top describes the n resources with the most writes, each divided by
// per (e.g. per Service): "events 2.2, services/status 1.0".
func (w APIWrites) Top(n int, per float64) string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if w[a] != w[b] {
			if w[a] > w[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %s", k, Format(w[k]/per)))
	}
	return strings.Join(parts, ", ")
}
