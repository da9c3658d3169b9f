package probe

import (
	"sort"
	"time"
)

// Outage is a run of failed probes between two successes.
type Outage struct {
	// Start is the start of the first failed probe; End the start of the
	// first successful probe after it (zero when Open).
	Start, End time.Time
	// Failed counts the failed probes.
	Failed int
	// Open is true when no probe succeeded after the outage began; End is
	// then the start of the last failed probe.
	Open bool
}

// Duration is the client-observed outage: from the first failed probe's
// start to the first successful probe's start.
func (o Outage) Duration() time.Duration { return o.End.Sub(o.Start) }

// Outages finds the outages in samples (in any order). It is pure.
func Outages(samples []Sample) []Outage {
	s := sortedByStart(samples)
	var out []Outage
	var cur *Outage
	for _, x := range s {
		switch {
		case !x.OK() && cur == nil:
			cur = &Outage{Start: x.Start, End: x.Start, Failed: 1, Open: true}
		case !x.OK():
			cur.Failed++
			cur.End = x.Start
		case cur != nil:
			cur.End, cur.Open = x.Start, false
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// Handoff is a change of the answering node between successive successful
// probes.
type Handoff struct {
	At       time.Time // start of the first probe answered by To
	From, To string
}

// Handoffs lists the changes of answering node, in time order. It is pure.
func Handoffs(samples []Sample) []Handoff {
	var out []Handoff
	last := ""
	for _, x := range sortedByStart(samples) {
		if !x.OK() {
			continue
		}
		if last != "" && x.Node != last {
			out = append(out, Handoff{At: x.Start, From: last, To: x.Node})
		}
		last = x.Node
	}
	return out
}

// Summary condenses a probe run.
type Summary struct {
	Total, Failed int
	ByNode        map[string]int // successful answers per node
	Outages       []Outage
	Longest       time.Duration // longest outage
	Handoffs      []Handoff
}

// Summarize computes a Summary. It is pure.
func Summarize(samples []Sample) Summary {
	s := Summary{Total: len(samples), ByNode: map[string]int{}, Outages: Outages(samples), Handoffs: Handoffs(samples)}
	for _, x := range samples {
		if x.OK() {
			s.ByNode[x.Node]++
		} else {
			s.Failed++
		}
	}
	for _, o := range s.Outages {
		s.Longest = max(s.Longest, o.Duration())
	}
	return s
}

func sortedByStart(samples []Sample) []Sample {
	s := append([]Sample(nil), samples...)
	sort.SliceStable(s, func(i, j int) bool {
		if !s[i].Start.Equal(s[j].Start) {
			return s[i].Start.Before(s[j].Start)
		}
		return s[i].Seq < s[j].Seq
	})
	return s
}
