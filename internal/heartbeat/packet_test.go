package heartbeat

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// validPackets has one packet of each kind.
var validPackets = []packet{
	{Kind: kindHeartbeat, From: "node-a", Version: version{Inc: 1 << 62, Seq: 7}},
	{Kind: kindQuery, From: "node-a", Subject: "node-b", ID: 42, Version: version{Inc: 3, Seq: 9}},
	{Kind: kindAnswer, From: "node-c", Subject: "node-b", ID: 42, Status: statusSilent, Version: version{Inc: 3, Seq: 9}},
	{Kind: kindAnswer, From: "node-b", Subject: "node-b", ID: 1, Status: statusHeard, Version: version{Inc: 3, Seq: 12}},
	{Kind: kindDead, From: "node-a", Subject: "node-b", Version: version{Inc: 3, Seq: 9}},
	{Kind: kindAlive, From: "node-c", Subject: strings.Repeat("x", MaxNameLen), Version: version{Inc: 3, Seq: 10}},
	{Kind: kindLeave, From: "node-d", Version: version{Inc: 4, Seq: 1}},
}

func TestPacketRoundTrip(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		c := newCodec(key)
		for _, p := range validPackets {
			b := c.marshal(nil, p)
			got, err := c.unmarshal(b)
			if err != nil {
				t.Fatalf("key %t, %v: unmarshal: %v", key != nil, p.Kind, err)
			}
			if diff := cmp.Diff(p, got); diff != "" {
				t.Errorf("key %t, %v: round trip (-want +got):\n%s", key != nil, p.Kind, diff)
			}
		}
	}
}

func TestPacketSizes(t *testing.T) {
	c := newCodec(testKey)
	// A heartbeat is what is sent 2k times per interval: keep it small.
	if n := len(c.marshal(nil, packet{Kind: kindHeartbeat, From: "worker-17", Version: version{1, 2}})); n != 2+1+9+16+16 {
		t.Errorf("heartbeat with a 9-byte name is %d bytes", n)
	}
	longest := packet{Kind: kindAnswer, From: strings.Repeat("a", MaxNameLen), Subject: strings.Repeat("b", MaxNameLen), Status: statusHeard}
	if n := len(c.marshal(nil, longest)); n > maxPacket || n > 1232 {
		t.Errorf("longest packet is %d bytes: above the read buffer or an IPv6 minimum MTU datagram", n)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	plain := newCodec(nil)
	hb := plain.marshal(nil, validPackets[0])
	answer := plain.marshal(nil, validPackets[2])
	with := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	keyed := newCodec(testKey).marshal(nil, validPackets[0])
	tests := []struct {
		name  string
		codec codec
		b     []byte
	}{
		{"empty", plain, nil},
		{"version only", plain, []byte{protocolVersion}},
		{"other version", plain, with(hb, 0, 2)},
		{"unknown kind", plain, with(hb, 1, 7)},
		{"kind zero", plain, with(hb, 1, 0)},
		{"empty sender", plain, []byte{protocolVersion, byte(kindHeartbeat), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"name past the end", plain, with(hb, 2, 200)},
		{"truncated", plain, hb[:len(hb)-1]},
		{"trailing byte", plain, append(bytes.Clone(hb), 0)},
		{"bad status", plain, with(answer, len(answer)-17, 9)},
		{"keyed packet, no key", plain, keyed},
		{"unkeyed packet, key", newCodec(testKey), hb},
		{"flipped bit under MAC", newCodec(testKey), with(keyed, 5, keyed[5]^1)},
		{"other key", newCodec([]byte("another key, 16 bytes or more")), keyed},
		{"shorter than a MAC", newCodec(testKey), keyed[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.codec.unmarshal(tt.b)
			if !errors.Is(err, errMalformed) {
				t.Errorf("unmarshal = %+v, %v; want an errMalformed", p, err)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b version
		want int
	}{
		{version{1, 5}, version{1, 5}, 0},
		{version{1, 5}, version{1, 6}, -1},
		{version{2, 0}, version{1, 99}, 1},
		{version{}, version{0, 1}, -1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
