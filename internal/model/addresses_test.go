package model

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/internal/ipam"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		in      string
		want    ipam.Range
		wantErr string
	}{
		{in: "10.0.0.0/24", want: rng("10.0.0.0", "10.0.0.255")},
		{in: " 10.0.0.5/32 ", want: rng("10.0.0.5", "10.0.0.5")},
		{in: "10.0.0.1-10.0.0.9", want: rng("10.0.0.1", "10.0.0.9")},
		{in: "10.0.0.1 - 10.0.0.1", want: rng("10.0.0.1", "10.0.0.1")},
		{in: "fd00::/64", want: rng("fd00::", "fd00::ffff:ffff:ffff:ffff")},
		{in: "fd00::1-fd00::ff", want: rng("fd00::1", "fd00::ff")},
		{in: "::/0", want: rng("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")},
		{in: "", wantErr: "empty address entry"},
		{in: "10.0.0.1", wantErr: "neither a CIDR"},
		{in: "10.0.0.0/24/1", wantErr: "invalid CIDR"},
		{in: "10.0.0.1/24", wantErr: "host bits set"},
		{in: "10.0.0.9-10.0.0.1", wantErr: "after its end"},
		{in: "10.0.0.1-fd00::1", wantErr: "mixes IPv4 and IPv6"},
		{in: "10.0.0.1-", wantErr: "invalid range end"},
		{in: "-10.0.0.1", wantErr: "invalid range start"},
		{in: "fe80::1%eth0-fe80::2", wantErr: "zone"},
		{in: "::ffff:10.0.0.0/120", wantErr: "IPv4-mapped"},
	}
	for _, tt := range tests {
		got, err := ParseAddresses(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAddresses(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAddresses(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("ParseAddresses(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		r    ipam.Range
		want []string
	}{
		{rng("10.0.0.0", "10.0.0.255"), []string{"10.0.0.0/24"}},
		{rng("10.0.0.10", "10.0.0.19"), []string{"10.0.0.10/31", "10.0.0.12/30", "10.0.0.16/30"}},
		{rng("10.0.0.7", "10.0.0.7"), []string{"10.0.0.7/32"}},
		{rng("0.0.0.0", "255.255.255.255"), []string{"0.0.0.0/0"}},
		{rng("fd00::1", "fd00::2"), []string{"fd00::1/128", "fd00::2/128"}},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range RangePrefixes(tt.r) {
			got = append(got, p.String())
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("RangePrefixes(%v) (-want +got):\n%s", tt.r, diff)
		}
	}
}
