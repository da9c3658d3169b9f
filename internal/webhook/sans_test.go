package webhook

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSANs(t *testing.T) {
	tests := []struct {
		in      []string
		dns     []string
		ips     []netip.Addr
		wantErr bool
	}{
		{in: nil},
		{in: []string{"127.0.0.1", " webhook.lab ", "", "::1", "::ffff:10.0.0.1"}, dns: []string{"webhook.lab"},
			ips: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("10.0.0.1")}},
		{in: []string{"Not_A_Name"}, wantErr: true},
		{in: []string{"*.example.com"}, wantErr: true},
		{in: []string{"fe80::1%eth0"}, wantErr: true},
		{in: []string{"10.0.0.0/8"}, wantErr: true},
	}
	for _, tc := range tests {
		dns, ips, err := ParseSANs(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseSANs(%q) error %v, want error %t", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.dns, dns); diff != "" {
			t.Errorf("ParseSANs(%q) DNS (-want +got):\n%s", tc.in, diff)
		}
		if diff := cmp.Diff(tc.ips, ips, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("ParseSANs(%q) IPs (-want +got):\n%s", tc.in, diff)
		}
	}
}

// FuzzParseSANs checks that whatever ParseSANs accepts makes a valid
// certificate spec.
func FuzzParseSANs(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "webhook.lab", "::1", "fe80::1%eth0", "a..b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dns, ips, err := ParseSANs([]string{s})
		if err != nil {
			return
		}
		o := Options{Namespace: "pylon-system", ServiceName: DefaultServiceName, ExtraSANs: []string{s}}
		o.Lifetimes.CA, o.Lifetimes.Serving = 2*3600e9, 3600e9
		if _, err := o.certSpec(); err != nil {
			t.Fatalf("ParseSANs accepted %q (dns %q, ips %v) but the spec is invalid: %v", s, dns, ips, err)
		}
	})
}
