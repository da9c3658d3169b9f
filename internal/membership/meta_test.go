package membership

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeMeta(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    nodeMeta
		wantErr bool
	}{
		{"draining", []byte{1, 1}, nodeMeta{Draining: true}, false},
		{"not draining", []byte{1, 0}, nodeMeta{}, false},
		{"answering", []byte{1, 2}, nodeMeta{Answering: true}, false},
		{"restarting", []byte{1, 4}, nodeMeta{Restarting: true}, false},
		{"unknown flags ignored", []byte{1, 0xf8}, nodeMeta{}, false},
		{"newer version, longer", []byte{2, 1, 9, 9}, nodeMeta{Draining: true}, false},
		{"empty", nil, nodeMeta{}, true},
		{"short", []byte{1}, nodeMeta{}, true},
		{"version 0", []byte{0, 1}, nodeMeta{}, true},
		{"interfaces", []byte{1, 0, 2, 4, 'e', 't', 'h', '0', 2, 'b', 'r'}, nodeMeta{Interfaces: named("eth0", "br")}, false},
		{"truncated interfaces", []byte{1, 0, 2, 4, 'e', 't', 'h', '0', 9, 'b'}, nodeMeta{Interfaces: named("eth0")}, false},
		{"addresses", []byte{1, 0, 1, 4, 'e', 't', 'h', '0', addrsTag, 15, 3, 2, 24, 10, 0, 1, 64 + 64, 0xfd, 0, 0, 0x77, 0, 0, 0, 0},
			nodeMeta{Interfaces: []InterfaceAddrs{{Name: "eth0", IPv4: true, IPv6: true, Prefixes: prefixes("10.0.1.0/24", "fd00:77::/64")}}, AddrsKnown: true}, false},
		{"no addresses", []byte{1, 0, 1, 4, 'e', 't', 'h', '0', addrsTag, 2, 0, 0},
			nodeMeta{Interfaces: named("eth0"), AddrsKnown: true}, false},
		{"unknown section skipped", []byte{1, 0, 1, 1, 'e', 9, 2, 7, 7, addrsTag, 2, 1, 0},
			nodeMeta{Interfaces: []InterfaceAddrs{{Name: "e", IPv4: true}}, AddrsKnown: true}, false},
		{"truncated prefix", []byte{1, 0, 1, 1, 'e', addrsTag, 5, 1, 2, 24, 10, 0},
			nodeMeta{Interfaces: []InterfaceAddrs{{Name: "e", IPv4: true}}, AddrsKnown: true}, false},
		{"bad prefix kind", []byte{1, 0, 1, 1, 'e', addrsTag, 3, 1, 1, 40},
			nodeMeta{Interfaces: []InterfaceAddrs{{Name: "e", IPv4: true}}, AddrsKnown: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeMeta(tc.in)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errBadMeta)) {
				t.Fatalf("decodeMeta(%v) error = %v, want error %t", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, prefixCmp); diff != "" {
				t.Errorf("decodeMeta(%v) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []nodeMeta{{}, {Draining: true}, {Answering: true}, {Draining: true, Answering: true}, {Restarting: true, Answering: true}, {Interfaces: named("eth0", "bond0.100")},
		{Interfaces: named("eth0"), AddrsKnown: true}, {AddrsKnown: true},
		{Interfaces: []InterfaceAddrs{{Name: "eth0", IPv4: true, Prefixes: prefixes("10.0.0.0/8", "192.168.7.0/24", "192.168.7.8/32")},
			{Name: "eth1", IPv6: true, Prefixes: prefixes("::/0", "fc00::/7", "2001:db8::1/128")}}, AddrsKnown: true}} {
		got, err := decodeMeta(encodeMeta(m))
		if err != nil || !cmp.Equal(got, m, prefixCmp) {
			t.Errorf("round trip of %+v: got %+v, %v", m, got, err)
		}
	}
	many := nodeMeta{}
	for i := range 40 {
		many.Interfaces = append(many.Interfaces, InterfaceAddrs{Name: fmt.Sprintf("interface-name-%03d", i), IPv6: true,
			Prefixes: prefixes("2001:db8::1/128", "2001:db8::2/128")})
	}
	many.AddrsKnown = true
	b := encodeMeta(many)
	if len(b) > 512 {
		t.Errorf("metadata of %d bytes exceeds memberlist's limit", len(b))
	}
	// 16 interfaces carried, two /128 each (17 bytes), after their
	// headers: 12 of the 32 fit.
	if lost := prefixesLeftOut(many.Interfaces); lost != 20 {
		t.Errorf("prefixesLeftOut = %d, want 20", lost)
	}
	if lost := prefixesLeftOut(many.Interfaces[:2]); lost != 0 {
		t.Errorf("prefixesLeftOut of two interfaces = %d, want 0", lost)
	}
	got, _ := decodeMeta(b)
	if len(got.Interfaces) != maxMetaInterfaces || got.Interfaces[0].Name != "interface-name-"[:15] {
		t.Errorf("long list decoded as %v", got.Interfaces)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add([]byte{1, 1})
	f.Add([]byte{})
	f.Add([]byte{2, 0xff, 0})
	f.Add(encodeMeta(nodeMeta{Interfaces: []InterfaceAddrs{{Name: "eth0", IPv4: true, IPv6: true,
		Prefixes: prefixes("10.0.0.0/24", "fd00::/64")}}, AddrsKnown: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		// Encoding normalises (bounds names and count) once; after that
		// the form is stable.
		norm, err := decodeMeta(encodeMeta(m))
		if err != nil {
			t.Fatalf("re-decoding %+v: %v", m, err)
		}
		again, err := decodeMeta(encodeMeta(norm))
		if err != nil || !cmp.Equal(again, norm, prefixCmp) {
			t.Fatalf("re-encoding %+v (from %v) gave %+v, %v", norm, b, again, err)
		}
	})
}

// prefixCmp compares prefixes by value.
var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

// named returns interfaces with names only.
func named(names ...string) []InterfaceAddrs {
	var out []InterfaceAddrs
	for _, n := range names {
		out = append(out, InterfaceAddrs{Name: n})
	}
	return out
}

func prefixes(ps ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// An earlier version reads the names of metadata with addresses and
// ignores the rest: the names part is unchanged.
func TestMetaNamesReadableByEarlierVersion(t *testing.T) {
	m := nodeMeta{Interfaces: []InterfaceAddrs{{Name: "eth0", IPv4: true, Prefixes: prefixes("10.0.0.0/24")}}, AddrsKnown: true}
	b := encodeMeta(m)
	old := encodeMeta(nodeMeta{Interfaces: named("eth0")})
	if string(b[:len(old)]) != string(old) {
		t.Errorf("metadata with addresses %v does not start with the names-only form %v", b, old)
	}
	if names, _ := decodeNames(b[metaLen:]); !slices.Equal(names, []string{"eth0"}) {
		t.Errorf("names read back as %v", names)
	}
}
