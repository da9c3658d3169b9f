package bench

import (
	"testing"
	"time"
)

func TestLabCPU(t *testing.T) {
	for name, want := range map[string]string{"kube-apiserver": "kube-apiserver", "etcd": "etcd", "controller": "controller",
		"speaker-node1": "speakers", "frr-router": "routers"} {
		if got := labCPUGroup(name); got != want {
			t.Errorf("labCPUGroup(%q) = %q, want %q", name, got, want)
		}
	}
	before := LabCPU{"etcd": time.Second, "speakers": 2 * time.Second}
	after := LabCPU{"etcd": 3 * time.Second, "speakers": 7 * time.Second, "controller": time.Second}
	d := after.Since(before)
	if d.Total() != 8*time.Second {
		t.Errorf("Total = %v, want 8s", d.Total())
	}
	if got, want := d.String(), "speakers 5.0, etcd 2.0, controller 1.0"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
