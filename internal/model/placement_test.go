package model

import (
	"testing"

	"github.com/pylonlb/pylon/api/v1beta1"
)

func TestPlacementValues(t *testing.T) {
	tests := []struct {
		in   v1beta1.L2Placement
		want Placement
	}{
		{in: "", want: PlacementHash},
		{in: v1beta1.L2PlacementHash, want: PlacementHash},
		{in: v1beta1.L2PlacementBalanced, want: PlacementBalanced},
	}
	for _, tt := range tests {
		o := Objects{L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{Placement: tt.in}}}}
		cfg, err := From(o)
		if err != nil {
			t.Fatalf("placement %q: %v", tt.in, err)
		}
		if got := cfg.L2Advertisements[0].Placement; got != tt.want {
			t.Errorf("placement %q = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []v1beta1.L2Placement{"balanced", "HASH", "Spread", " Hash"} {
		o := Objects{L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{Placement: bad}}}}
		_, err := From(o)
		want := FieldError{Kind: "L2Advertisement", Name: "l2", Field: "spec.placement",
			Message: `"` + string(bad) + `" is not one of Hash, Balanced`}
		if errs, ok := err.(Errors); !ok || len(errs) != 1 || errs[0] != want {
			t.Errorf("placement %q: error %v, want %v", bad, err, want)
		}
	}
}

func TestPlacementString(t *testing.T) {
	for p, want := range map[Placement]string{PlacementHash: "Hash", PlacementBalanced: "Balanced", Placement(7): "Placement(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Placement(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}

func TestPlacementFor(t *testing.T) {
	hash, balanced := &L2Advertisement{Name: "h"}, &L2Advertisement{Name: "b", Placement: PlacementBalanced}
	tests := []struct {
		name string
		advs []*L2Advertisement
		want Placement
	}{
		{"none", nil, PlacementHash},
		{"hash", []*L2Advertisement{hash}, PlacementHash},
		{"balanced", []*L2Advertisement{balanced}, PlacementBalanced},
		{"any balanced wins", []*L2Advertisement{hash, balanced, hash}, PlacementBalanced},
	}
	for _, tt := range tests {
		if got := PlacementFor(tt.advs); got != tt.want {
			t.Errorf("%s: PlacementFor = %v, want %v", tt.name, got, tt.want)
		}
	}
}
