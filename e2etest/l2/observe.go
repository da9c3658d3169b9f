package l2

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
	"github.com/pylonlb/pylon/internal/election"
)

// Speaker metrics the suite and the L2 benchmarks read.
const (
	// MetricMembers is how many live speakers a speaker sees, itself included.
	MetricMembers = "pylon_memberlist_members"
	// MetricOwned is how many addresses a speaker answers ARP/NDP for.
	MetricOwned = "pylon_l2_addresses_owned"
)

// Owner returns the node internal/election makes announce a Service's
// addresses among candidates: the winner of the addresses' group key
// (the lowest address) over the candidate names. ok is false without
// addresses or candidates.
func Owner(ips []netip.Addr, candidates []string) (string, bool) {
	groups := election.GroupIPs([][]netip.Addr{ips})
	if len(groups) != 1 {
		return "", false
	}
	return election.Winner(groups[0].Key, candidates)
}

// BalancedOwners returns the owner placement Balanced gives each group of
// addresses (one Service's addresses per set, no sharing) when every
// candidate may announce every group, by the group's election key.
func BalancedOwners(sets [][]netip.Addr, candidates []string) map[string]string {
	groups := election.GroupIPs(sets)
	reqs := make([]election.Request, len(groups))
	for i, g := range groups {
		reqs[i] = election.Request{Key: g.Key, Candidates: candidates}
	}
	out := make(map[string]string, len(groups))
	for i, owner := range election.Balance(reqs) {
		out[groups[i].Key] = owner
	}
	return out
}

// SpeakerMetric reads an unlabelled metric from node's speaker (its
// metrics endpoint inside the node's namespace).
func SpeakerMetric(ctx context.Context, l *lab.Lab, node, name string) (float64, error) {
	return speakerMetric(ctx, l, node, name, false)
}

// SpeakerMetricSum reads a metric from node's speaker, summed over its
// labels; a metric the speaker does not export is 0.
func SpeakerMetricSum(ctx context.Context, l *lab.Lab, node, name string) (float64, error) {
	return speakerMetric(ctx, l, node, name, true)
}

// speakerMetric reads the series of one metric: the unlabelled one, or
// (sum) every series added up.
func speakerMetric(ctx context.Context, l *lab.Lab, node, name string, sum bool) (float64, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", lab.SpeakerMetricsPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := probe.NewHTTPClient(l.Node(node).NS, 2*time.Second).Do(req)
	if err != nil {
		return 0, fmt.Errorf("read metrics of %s: %w", node, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	total := 0.0
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+" "); ok && !sum {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
		if !sum || !(strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{")) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics of %s: %q: %w", node, line, err)
		}
		total += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics of %s: %w", node, err)
	}
	if sum {
		return total, nil
	}
	return 0, fmt.Errorf("metrics of %s: no %s", node, name)
}

// Converged reports whether the speaker of every node in nodes sees
// exactly len(nodes) members, and what each saw.
func Converged(ctx context.Context, l *lab.Lab, nodes []string) (bool, map[string]int, error) {
	seen := map[string]int{}
	ok := true
	for _, n := range nodes {
		v, err := SpeakerMetric(ctx, l, n, MetricMembers)
		if err != nil {
			return false, seen, err
		}
		seen[n] = int(v)
		ok = ok && int(v) == len(nodes)
	}
	return ok, seen, nil
}

// WaitConverged waits up to timeout until Converged holds.
func WaitConverged(ctx context.Context, l *lab.Lab, nodes []string, timeout time.Duration) error {
	var seen map[string]int
	err := wait.For(ctx, timeout, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		ok, s, err := Converged(ctx, l, nodes)
		seen = s
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("speakers of %v do not see each other (members seen: %v): %w", nodes, seen, err)
	}
	return nil
}

// TotalOwned sums MetricOwned over the nodes' speakers.
func TotalOwned(ctx context.Context, l *lab.Lab, nodes []string) (int, error) {
	total := 0
	for _, n := range nodes {
		v, err := SpeakerMetric(ctx, l, n, MetricOwned)
		if err != nil {
			return 0, err
		}
		total += int(v)
	}
	return total, nil
}

// SwitchReset reports whether a failed probe's connection was reset by
// the peer. When the client's neighbour entry switches to the new owner
// while a connection to the old owner is open, the rest of that
// connection reaches the new owner's TCP stack, which knows nothing of it
// and resets it. That is inherent to moving an address between hosts
// (about one probe in ten switches with 10 ms probes): it is no gap in
// the announcements, which shows as timeouts or unreachable errors.
func SwitchReset(s probe.Sample) bool {
	return !s.OK() && strings.Contains(s.Err, "connection reset by peer")
}
