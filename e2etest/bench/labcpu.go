package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
)

// LabCPU is the CPU time of a lab's processes, grouped: the API server,
// etcd, the controller, the speakers together, and the rest (routers).
type LabCPU map[string]time.Duration

// labCPUGroup names the group a lab process counts in.
func labCPUGroup(name string) string {
	switch {
	case name == "kube-apiserver", name == "etcd", name == "controller":
		return name
	case strings.HasPrefix(name, "speaker-"):
		return "speakers"
	default:
		return "routers"
	}
}

// ReadLabCPU reads the CPU time every process of l has used so far.
// Processes that exited are left out.
func ReadLabCPU(l *lab.Lab) LabCPU {
	out := LabCPU{}
	for _, p := range l.Processes() {
		if u, err := p.Usage(); err == nil {
			out[labCPUGroup(p.Name())] += u.CPU
		}
	}
	return out
}

// Since returns what each group used since before.
func (c LabCPU) Since(before LabCPU) LabCPU {
	out := LabCPU{}
	for g, v := range c {
		out[g] = v - before[g]
	}
	return out
}

// Total is the CPU time of every group together.
func (c LabCPU) Total() time.Duration {
	var t time.Duration
	for _, v := range c {
		t += v
	}
	return t
}

// String lists the groups, largest first: "kube-apiserver 9.1, etcd 2.0 …"
// in CPU-seconds.
func (c LabCPU) String() string {
	groups := slices.SortedFunc(maps.Keys(c), func(a, b string) int { return int(c[b] - c[a]) })
	parts := make([]string, 0, len(groups))
	for _, g := range groups {
		parts = append(parts, fmt.Sprintf("%s %.1f", g, c[g].Seconds()))
	}
	return strings.Join(parts, ", ")
}
