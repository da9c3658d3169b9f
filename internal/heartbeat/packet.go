package heartbeat

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// protocolVersion is the first byte of every packet. A receiver drops
// packets of any other version, so a version change needs a rollout that
// tolerates a short loss of fast detection (memberlist still detects).
const protocolVersion = 1

// MaxNameLen bounds node names on the wire: a Kubernetes node name is a DNS
// subdomain of at most 253 bytes.
const MaxNameLen = 253

// macLen is the length of the truncated HMAC-SHA256 that ends every packet
// when a key is configured.
const macLen = 16

// kind is the type of a packet.
type kind uint8

// Packet kinds. The fields each kind uses are listed on [packet].
const (
	// kindHeartbeat: the sender is alive at Version (its incarnation and
	// sequence number). Sent every Interval to the sender's watchers.
	kindHeartbeat kind = 1
	// kindQuery: "have you heard Subject at a version newer than Version?"
	// A suspecting watcher sends it to Subject's other watchers and to
	// Subject itself.
	kindQuery kind = 2
	// kindAnswer: the reply to a Query with the same ID.
	kindAnswer kind = 3
	// kindDead: the verdict "Subject sent nothing after Version".
	kindDead kind = 4
	// kindAlive: "Subject was heard at Version", sent to everyone by a
	// node that hears a node declared dead again (a revival), or that
	// heard it after the version a verdict names (a refutation).
	kindAlive kind = 5
	// kindLeave: the sender stops on purpose after Version (its detector's
	// Run ended): its silence is not a failure, so it is not suspected
	// until heard at a newer version. Sent to every peer.
	kindLeave kind = 6
)

// String returns the kind's name.
func (k kind) String() string {
	switch k {
	case kindHeartbeat:
		return "heartbeat"
	case kindQuery:
		return "query"
	case kindAnswer:
		return "answer"
	case kindDead:
		return "dead"
	case kindAlive:
		return "alive"
	case kindLeave:
		return "leave"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// hasSubject reports whether packets of kind k name a subject.
func (k kind) hasSubject() bool { return k != kindHeartbeat && k != kindLeave }

// status is an answerer's view of a Query's subject.
type status uint8

// Answer statuses.
const (
	// statusUnknown: the answerer neither watches the subject nor heard it
	// lately: it cannot tell.
	statusUnknown status = 1
	// statusSilent: the answerer watches the subject (or heard it lately),
	// knows nothing newer than the queried version, and its own probe of
	// the subject failed: it confirms.
	statusSilent status = 2
	// statusHeard: the answerer knows a newer version than the queried
	// one (Version carries it), or its probe reached the subject: the
	// subject is alive, the suspicion is refuted. A subject answering
	// about itself always answers Heard.
	statusHeard status = 3
)

// String returns the status's name.
func (s status) String() string {
	switch s {
	case statusUnknown:
		return "unknown"
	case statusSilent:
		return "silent"
	case statusHeard:
		return "heard"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// version orders what a node sent: Inc is the incarnation (chosen when the
// detector is built, raised when a peer says a higher one was seen) and Seq
// the heartbeat sequence number within it. A larger version is newer.
type version struct {
	Inc uint64
	Seq uint64
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v version) Compare(o version) int {
	if c := cmp.Compare(v.Inc, o.Inc); c != 0 {
		return c
	}
	return cmp.Compare(v.Seq, o.Seq)
}

// String formats v as inc.seq.
func (v version) String() string { return fmt.Sprintf("%d.%d", v.Inc, v.Seq) }

// packet is one decoded datagram. Fields a kind does not use are zero.
//
//	kind       From  Subject  ID  Status  Version
//	heartbeat  yes   -        -   -       the sender's
//	query      yes   yes      yes -       the asker's newest of Subject
//	answer     yes   yes      yes yes     the answerer's newest of Subject
//	dead       yes   yes      -   -       the last version heard of Subject
//	alive      yes   yes      -   -       a version Subject was heard at
//	leave      yes   -        -   -       the sender's last
type packet struct {
	Kind    kind
	From    string
	Subject string
	ID      uint32
	Status  status
	Version version
}

// Decoding errors. Every error [codec.unmarshal] returns wraps errMalformed.
var (
	errMalformed = errors.New("malformed heartbeat packet")
	errVersion   = fmt.Errorf("%w: unknown protocol version", errMalformed)
	errShort     = fmt.Errorf("%w: truncated", errMalformed)
	errTrailing  = fmt.Errorf("%w: trailing bytes", errMalformed)
	errMAC       = fmt.Errorf("%w: bad or missing authentication code", errMalformed)
)

// codec encodes and decodes packets, authenticated with an HMAC when it has
// a key. Its methods are pure and safe for concurrent use.
type codec struct {
	macKey []byte // nil: packets carry no MAC
}

// newCodec derives the packet MAC key from key (nil for none), so the same
// secret can serve memberlist's encryption and this HMAC without reuse of
// one key for two algorithms.
func newCodec(key []byte) codec {
	if len(key) == 0 {
		return codec{}
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("pylon heartbeat v1"))
	return codec{macKey: m.Sum(nil)}
}

// marshal appends p's encoding to b. p must be valid (see validate).
//
//	version u8 | kind u8 | len u8, from | body | MAC (16 bytes, with a key)
//	body: heartbeat, leave  inc u64, seq u64
//	      query      len u8, subject | id u32 | inc u64, seq u64
//	      answer     len u8, subject | id u32 | status u8 | inc u64, seq u64
//	      dead/alive len u8, subject | inc u64, seq u64
//
// Integers are big-endian.
func (c codec) marshal(b []byte, p packet) []byte {
	start := len(b)
	b = append(b, protocolVersion, byte(p.Kind))
	b = appendName(b, p.From)
	if p.Kind.hasSubject() {
		b = appendName(b, p.Subject)
	}
	if p.Kind == kindQuery || p.Kind == kindAnswer {
		b = binary.BigEndian.AppendUint32(b, p.ID)
	}
	if p.Kind == kindAnswer {
		b = append(b, byte(p.Status))
	}
	b = binary.BigEndian.AppendUint64(b, p.Version.Inc)
	b = binary.BigEndian.AppendUint64(b, p.Version.Seq)
	if c.macKey != nil {
		b = append(b, c.mac(b[start:])[:macLen]...)
	}
	return b
}

func appendName(b []byte, name string) []byte {
	return append(append(b, byte(len(name))), name...)
}

func (c codec) mac(b []byte) []byte {
	m := hmac.New(sha256.New, c.macKey)
	m.Write(b)
	return m.Sum(nil)
}

// unmarshal decodes one datagram. It never panics; every error wraps
// errMalformed. A decoded packet is valid (validate returns nil).
func (c codec) unmarshal(b []byte) (packet, error) {
	if c.macKey != nil {
		if len(b) < macLen || !hmac.Equal(b[len(b)-macLen:], c.mac(b[:len(b)-macLen])[:macLen]) {
			return packet{}, errMAC
		}
		b = b[:len(b)-macLen]
	}
	r := reader{b: b}
	if v := r.u8(); r.err == nil && v != protocolVersion {
		return packet{}, errVersion
	}
	p := packet{Kind: kind(r.u8())}
	p.From = r.name()
	if p.Kind.hasSubject() {
		p.Subject = r.name()
	}
	if p.Kind == kindQuery || p.Kind == kindAnswer {
		p.ID = r.u32()
	}
	if p.Kind == kindAnswer {
		p.Status = status(r.u8())
	}
	p.Version = version{Inc: r.u64(), Seq: r.u64()}
	if r.err != nil {
		return packet{}, r.err
	}
	if len(r.b) != 0 {
		return packet{}, errTrailing
	}
	if err := p.validate(); err != nil {
		return packet{}, err
	}
	return p, nil
}

// validate checks what marshal cannot encode or a receiver must not
// accept.
func (p packet) validate() error {
	if p.Kind < kindHeartbeat || p.Kind > kindLeave {
		return fmt.Errorf("%w: unknown kind %d", errMalformed, uint8(p.Kind))
	}
	if err := validName(p.From); err != nil {
		return fmt.Errorf("%w: sender: %w", errMalformed, err)
	}
	if p.Kind.hasSubject() {
		if err := validName(p.Subject); err != nil {
			return fmt.Errorf("%w: subject: %w", errMalformed, err)
		}
	}
	if p.Kind == kindAnswer && (p.Status < statusUnknown || p.Status > statusHeard) {
		return fmt.Errorf("%w: unknown answer status %d", errMalformed, uint8(p.Status))
	}
	return nil
}

func validName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("name length %d not in 1..%d", len(name), MaxNameLen)
	}
	return nil
}

// reader consumes b; the first short read sets err and every later read
// returns zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) name() string {
	return string(r.take(int(r.u8())))
}
