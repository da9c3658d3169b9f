package membership

import (
	"errors"
	"fmt"
)

// Node metadata rides in every alive message (memberlist's NodeMeta). It is
// two bytes: a format version and a flag byte. Versions above 1 must keep
// the flag byte where it is, so older members can still read the flags.
const (
	metaVersion      = 1
	metaFlagDraining = 1 << 0
	metaLen          = 2
)

// errBadMeta is returned by decodeMeta for metadata it cannot read.
var errBadMeta = errors.New("bad member metadata")

// nodeMeta is what a member tells its peers about itself.
type nodeMeta struct {
	// Draining: the member is stopping; peers re-elect without it while
	// it still answers.
	Draining bool
}

// encodeMeta returns the wire form of m.
func encodeMeta(m nodeMeta) []byte {
	var flags byte
	if m.Draining {
		flags |= metaFlagDraining
	}
	return []byte{metaVersion, flags}
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
	return nodeMeta{Draining: b[1]&metaFlagDraining != 0}, nil
}
