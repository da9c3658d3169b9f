package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a bench run.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Commit is the repository's HEAD (with "+dirty" for local changes).
	Commit    string   `json:"commit,omitempty"`
	Trials    int      `json:"trials,omitempty"`
	LoadStart Load     `json:"loadStart"`
	LoadEnd   Load     `json:"loadEnd"`
	Results   []Result `json:"results"`
}

// Result is one scenario's outcome.
type Result struct {
	Scenario    string        `json:"scenario"`
	Description string        `json:"description"`
	Figures     []Figure      `json:"figures"`
	Error       string        `json:"error,omitempty"`
	Took        time.Duration `json:"took"`
	LoadStart   Load          `json:"loadStart"`
	LoadEnd     Load          `json:"loadEnd"`
}

// Failed reports whether any scenario returned an error.
func (r *Report) Failed() bool {
	for _, res := range r.Results {
		if res.Error != "" {
			return true
		}
	}
	return false
}

// verdict renders Figure.Pass.
func verdict(p *bool) string {
	switch {
	case p == nil:
		return "-"
	case *p:
		return "met"
	default:
		return "NOT MET"
	}
}

// value renders a figure's value with its unit.
func value(f Figure) string {
	return strings.TrimSpace(Format(f.Value) + " " + f.Unit)
}

// WriteText writes the report as aligned tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Pylon lab benchmarks, %s, commit %s, load %s at start, %s at end (1, 5, 15 min)\n",
		r.Started.Format("2006-01-02 15:04"), r.Commit, r.LoadStart, r.LoadEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFIGURE\tPYLON\tMETALLB\tTARGET\tVERDICT\tSPREAD")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "[%s]\t\t\t\t\t(took %s, load %.2f → %.2f)\n", res.Scenario,
			res.Took.Round(time.Second), res.LoadStart.One, res.LoadEnd.One)
		for _, f := range res.Figures {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", f.Name, value(f), f.MetalLB, f.Target, verdict(f.Pass), f.Spread)
		}
		if res.Error != "" {
			fmt.Fprintf(tw, "  FAILED: %s\t\t\t\t\t\n", firstLine(res.Error))
		}
	}
	return tw.Flush()
}

// WriteMarkdown writes the report as markdown, for notes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Pylon lab benchmarks %s", r.Started.Format("2006-01-02 15:04 MST"))
	p("")
	p("Commit %s; %s; load average %s at start, %s at end (1, 5, 15 min).",
		r.Commit, r.Finished.Sub(r.Started).Round(time.Second), r.LoadStart, r.LoadEnd)
	p("")
	p("| Figure | Pylon | MetalLB | Target | Verdict | Spread | Note |")
	p("|---|---|---|---|---|---|---|")
	for _, res := range r.Results {
		for _, f := range res.Figures {
			p("| %s | %s | %s | %s | %s | %s | %s |", cell(f.Name), cell(value(f)), cell(f.MetalLB),
				cell(f.Target), verdict(f.Pass), cell(f.Spread), cell(f.Note))
		}
	}
	p("")
	for _, res := range r.Results {
		p("- `%s`: %s — took %s, load %s → %s", res.Scenario, res.Description,
			res.Took.Round(time.Second), res.LoadStart, res.LoadEnd)
		if res.Error != "" {
			p("  - **failed**: %s", cell(res.Error))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
