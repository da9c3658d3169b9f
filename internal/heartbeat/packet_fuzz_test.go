package heartbeat

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal feeds arbitrary datagrams to the decoder, with and without
// a key. It must never panic, and whatever it accepts must be valid and
// encode back to the same bytes (the encoding is canonical).
func FuzzUnmarshal(f *testing.F) {
	for _, c := range []codec{newCodec(nil), newCodec(testKey)} {
		for _, p := range validPackets {
			f.Add(c.marshal(nil, p))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{protocolVersion, byte(kindQuery), 1, 'a', 1, 'b'})
	codecs := []codec{newCodec(nil), newCodec(testKey)}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range codecs {
			p, err := c.unmarshal(b)
			if err != nil {
				continue
			}
			if err := p.validate(); err != nil {
				t.Fatalf("accepted an invalid packet %+v: %v", p, err)
			}
			if again := c.marshal(nil, p); !bytes.Equal(again, b) {
				t.Fatalf("%+v encodes to %x, decoded from %x", p, again, b)
			}
		}
	})
}
