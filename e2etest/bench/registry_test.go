package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllValid(t *testing.T) {
	if err := Validate(All()); err != nil {
		t.Fatal(err)
	}
	for _, s := range All() {
		if s.Description == "" {
			t.Errorf("scenario %s has no description", s.Name)
		}
	}
}

func fakeScenarios(names ...string) []Scenario {
	var out []Scenario
	for _, n := range names {
		out = append(out, Scenario{Name: n, Description: n, Run: func(context.Context, *Env) ([]Figure, error) { return nil, nil }})
	}
	return out
}

func names(ss []Scenario) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	all := fakeScenarios("a", "b", "c")
	for _, tc := range []struct {
		name    string
		only    []string
		want    []string
		wantErr string
	}{
		{"none selects all", nil, []string{"a", "b", "c"}, ""},
		{"empty strings select all", []string{"", " , "}, []string{"a", "b", "c"}, ""},
		{"keeps registry order", []string{"c,a"}, []string{"a", "c"}, ""},
		{"repeated flag", []string{"b", "c"}, []string{"b", "c"}, ""},
		{"unknown", []string{"a,zz"}, nil, "unknown scenario(s) zz; known: a, b, c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(all, tc.only)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Scenario
		want string
	}{
		{"duplicate", fakeScenarios("a", "a"), "duplicate"},
		{"empty name", fakeScenarios(""), "non-empty"},
		{"comma", fakeScenarios("a,b"), "without commas"},
		{"no run", []Scenario{{Name: "x"}}, "no Run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
