package membership

import (
	"errors"
	"fmt"
)

// Node metadata rides in every alive message (memberlist's NodeMeta). It is
// a format version, a flag byte, then optionally the member's usable
// interface names: a count byte followed by (length byte, name) pairs.
// Versions above 1 must keep the flag byte where it is, so older members
// can still read the flags; decoders ignore what they do not know.
const (
	metaVersion        = 1
	metaFlagDraining   = 1 << 0
	metaFlagAnswering  = 1 << 1
	metaFlagRestarting = 1 << 2
	metaLen            = 2
	// maxMetaInterfaces bounds the interface list so the metadata stays
	// well inside memberlist's 512-byte limit (16 × 16 + 3 bytes).
	maxMetaInterfaces = 16
	maxInterfaceName  = 15
)

// errBadMeta is returned by decodeMeta for metadata it cannot read.
var errBadMeta = errors.New("bad member metadata")

// nodeMeta is what a member tells its peers about itself.
type nodeMeta struct {
	// Draining: the member is stopping; peers re-elect without it while
	// it still answers.
	Draining bool
	// Answering: the member answers for the addresses it owns (it has
	// finished starting).
	Answering bool
	// Restarting: the member stops to be replaced at once (a rolling
	// update); peers keep it in elections for a while after it leaves.
	Restarting bool
	// Interfaces are the names of the member's usable interfaces for L2
	// announcements, so every member elects among nodes that can answer.
	Interfaces []string
}

// encodeMeta returns the wire form of m.
func encodeMeta(m nodeMeta) []byte {
	var flags byte
	if m.Draining {
		flags |= metaFlagDraining
	}
	if m.Answering {
		flags |= metaFlagAnswering
	}
	if m.Restarting {
		flags |= metaFlagRestarting
	}
	b := []byte{metaVersion, flags}
	names := m.Interfaces
	if len(names) > maxMetaInterfaces {
		names = names[:maxMetaInterfaces]
	}
	b = append(b, byte(len(names)))
	for _, n := range names {
		if len(n) > maxInterfaceName {
			n = n[:maxInterfaceName]
		}
		b = append(b, byte(len(n)))
		b = append(b, n...)
	}
	return b
}

// decodeMeta parses metadata from a peer. Unknown flags and bytes past the
// flag byte are ignored, for members running a newer version.
func decodeMeta(b []byte) (nodeMeta, error) {
	if len(b) < metaLen {
		return nodeMeta{}, fmt.Errorf("%w: %d bytes, want at least %d", errBadMeta, len(b), metaLen)
	}
	if b[0] == 0 {
		return nodeMeta{}, fmt.Errorf("%w: version 0", errBadMeta)
	}
	m := nodeMeta{Draining: b[1]&metaFlagDraining != 0, Answering: b[1]&metaFlagAnswering != 0,
		Restarting: b[1]&metaFlagRestarting != 0}
	m.Interfaces = decodeNames(b[metaLen:])
	return m, nil
}

// decodeNames reads the optional interface list; a truncated list yields
// the names read so far.
func decodeNames(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	count, b := int(b[0]), b[1:]
	var out []string
	for range count {
		if len(b) == 0 || int(b[0]) > len(b)-1 {
			break
		}
		n := int(b[0])
		out = append(out, string(b[1:1+n]))
		b = b[1+n:]
	}
	return out
}
