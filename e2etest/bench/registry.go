package bench

import (
	"fmt"
	"slices"
	"strings"
)

// All returns every scenario, in report order.
func All() []Scenario {
	return slices.Concat(controllerScenarios(), l2Scenarios(), bgpScenarios(), clusterScenarios())
}

// Select returns the scenarios of all named in names (comma-separated
// lists allowed), in all's order; empty names select all. An unknown name
// is an error listing the known ones.
func Select(all []Scenario, names []string) ([]Scenario, error) {
	want := map[string]bool{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			if part = strings.TrimSpace(part); part != "" {
				want[part] = true
			}
		}
	}
	if len(want) == 0 {
		return all, nil
	}
	var out []Scenario
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		var unknown, known []string
		for n := range want {
			unknown = append(unknown, n)
		}
		for _, s := range all {
			known = append(known, s.Name)
		}
		slices.Sort(unknown)
		return nil, fmt.Errorf("unknown scenario(s) %s; known: %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// Validate checks that scenario names are unique, non-empty and have a
// Run function.
func Validate(all []Scenario) error {
	seen := map[string]bool{}
	for _, s := range all {
		switch {
		case s.Name == "" || strings.ContainsAny(s.Name, ", \t"):
			return fmt.Errorf("scenario %q: name must be non-empty without commas or spaces", s.Name)
		case seen[s.Name]:
			return fmt.Errorf("scenario %q: duplicate name", s.Name)
		case s.Run == nil:
			return fmt.Errorf("scenario %q: no Run function", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}
