package kube

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestResourceMatchesEveryCRDAndBuiltIn(t *testing.T) {
	files, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRD manifests found: %v", err)
	}
	want := map[string]string{"Service": "services", "EndpointSlice": "endpointslices", "Node": "nodes",
		"Secret": "secrets", "Event": "events"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Names struct{ Kind, Plural string }
			}
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want[crd.Spec.Names.Kind] = crd.Spec.Names.Plural
	}
	for kind, plural := range want {
		if got := Resource(kind); got != plural {
			t.Errorf("Resource(%q) = %q, want %q", kind, got, plural)
		}
	}
}

func TestSchemeKnowsWhatTheSpeakerUses(t *testing.T) {
	s, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, gvk := range []string{"/v1, Kind=Service", "/v1, Kind=Node", "/v1, Kind=Secret",
		"discovery.k8s.io/v1, Kind=EndpointSlice", "events.k8s.io/v1, Kind=Event", "pylonlb.io/v1beta1, Kind=ServiceL2Status"} {
		found := false
		for k := range s.AllKnownTypes() {
			if k.String() == gvk {
				found = true
			}
		}
		if !found {
			t.Errorf("scheme lacks %s", gvk)
		}
	}
}
