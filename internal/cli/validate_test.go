package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/cli"
)

// TestValidateDryRunsAgainstTheCluster: validate judges files with the
// webhook's decision and tells which Services the change would break,
// with exit statuses 0, 1 and 2, and writes nothing.
func TestValidateDryRunsAgainstTheCluster(t *testing.T) {
	h := newHarness(t)
	h.pool("small", true, "192.0.2.10/32")
	h.create(&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan", Namespace: h.ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"small"}}})
	n1 := h.node("n1", map[string]string{"rack": "a"}, false)
	h.speakerPod(n1)
	h.service("first")
	h.waitIPs("first", 1)
	h.endpoints("first", n1)
	h.service("second")
	h.failure("second")

	head := "apiVersion: pylonlb.io/v1beta1\nkind: "
	meta := "\nmetadata:\n  name: "
	cases := []struct {
		name  string
		input string
		code  int
		want  []string // parts of one line each
	}{
		{"a new pool serves the pending Service", head + "IPAddressPool" + meta + "extra\nspec:\n  addresses: [198.51.100.16/30]\n",
			0, []string{`create IPAddressPool "extra": valid`, h.app + "/second: gets 198.51.100.16"}},
		{"moving the pool's range changes an address", head + "IPAddressPool" + meta + "small\nspec:\n  addresses: [192.0.2.30/32]\n",
			1, []string{`update IPAddressPool "small": valid`, "! " + h.app + "/first: its address changes from 192.0.2.10 to 192.0.2.30"}},
		{"selecting no node stops the announcement", head + "L2Advertisement" + meta + "lan\nspec:\n  ipAddressPools: [small]\n  nodeSelectors:\n  - matchLabels: {rack: b}\n",
			1, []string{"! " + h.app + "/first: stops being announced in L2 (by " + n1 + ")"}},
		{"two documents, the second fixing the first", "---\n" + head + "IPAddressPool" + meta + "small\nspec:\n  addresses: [192.0.2.10/31]\n---\n" +
			head + "L2Advertisement" + meta + "lan\nspec:\n  ipAddressPools: [small]\n",
			0, []string{`update L2Advertisement "lan": valid`, h.app + "/second: gets 192.0.2.11"}},
		{"an invalid pool is refused with the webhook's message", head + "IPAddressPool" + meta + "bad\nspec:\n  addresses: [not-a-cidr]\n",
			2, []string{`refused: this create of IPAddressPool "bad" would make Pylon's configuration invalid`, `IPAddressPool "bad": spec.addresses[0]:`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(tc.input, "validate", "-f", "-")
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.out, r.errOut)
			}
			for _, w := range tc.want {
				wantLine(t, "validate", r.out, w)
			}
		})
	}

	file := filepath.Join(t.TempDir(), "pool.yaml")
	if err := os.WriteFile(file, []byte(cases[0].input), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.run("", "validate", "-f", file, "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"accepted"`) {
		t.Errorf("validate -f %s -o json: exit %d\n%s%s", file, r.code, r.out, r.errOut)
	}

	for _, bad := range []struct{ name, input string }{
		{"not YAML", "this: is: not yaml: [\n"},
		{"unknown kind", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"},
		{"unknown field", head + "IPAddressPool" + meta + "x\nspec:\n  adresses: [192.0.2.0/24]\n"},
		{"another namespace", head + "IPAddressPool" + meta + "x\n  namespace: default\nspec:\n  addresses: [192.0.2.0/24]\n"},
	} {
		r := h.run(bad.input, "validate", "-f", "-")
		if r.code != cli.ExitInvalid || r.errOut == "" || strings.Count(strings.TrimSpace(r.errOut), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line", bad.name, r.code, r.errOut)
		}
	}
	if r := h.run("", "validate", "-f", filepath.Join(t.TempDir(), "missing.yaml")); r.code != cli.ExitInvalid {
		t.Errorf("missing file: exit %d", r.code)
	}

	// Nothing was written.
	var pools v1beta1.IPAddressPoolList
	if err := h.c.List(context.Background(), &pools, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	if len(pools.Items) != 1 || pools.Items[0].Spec.Addresses[0] != "192.0.2.10/32" {
		t.Errorf("validate changed the pools: %+v", pools.Items)
	}
}
