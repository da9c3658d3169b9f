package routers

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// BIRD has no JSON output: these parsers read birdc's text, as printed by
// BIRD 2.0.12. Lines that do not match are ignored rather than fatal, so an
// unexpected line costs a missing attribute, never a crash.

// ParseBIRDProtocols parses `show protocols all` into sessions: one per
// BGP protocol with a neighbour address (dynamic listeners, which have only
// a range, are skipped).
func ParseBIRDProtocols(b []byte) ([]Session, error) {
	var out []Session
	var cur *Session
	isBGP := false
	flush := func() {
		if cur != nil && isBGP && cur.Peer.IsValid() {
			out = append(out, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "BIRD ") || strings.HasPrefix(line, "Name ") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			flush()
			f := strings.Fields(line)
			cur, isBGP = &Session{}, len(f) > 1 && f[1] == "BGP"
			continue
		}
		if cur == nil {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "BGP state":
			cur.State = val
		case "Neighbor address":
			cur.Peer, _ = netip.ParseAddr(strings.Fields(val + " x")[0])
		case "Neighbor AS":
			as, _ := strconv.ParseUint(val, 10, 32)
			cur.RemoteAS = uint32(as)
		}
	}
	flush()
	return out, sc.Err()
}

// pathHeader matches the start of a path: "unicast [peer1 12:00:00.000] * (100) [AS64501i]".
var pathHeader = regexp.MustCompile(`^(\S+)\s+\[(\S+)[^\]]*\](\s+\*)?\s+\((\d+)\)`)

// ParseBIRDRoutes parses `show route all` (both tables) into one Route per
// path, in the order BIRD prints them.
func ParseBIRDRoutes(b []byte) ([]Route, error) {
	var out []Route
	var prefix netip.Prefix
	cur := -1 // index in out of the path being read
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "BIRD ") || strings.HasPrefix(line, "Table "):
		case line[0] == '\t':
			if cur >= 0 {
				birdAttr(&out[cur], strings.TrimSpace(line))
			}
		case line[0] == ' ':
			if r, ok := birdPath(prefix, strings.TrimSpace(line)); ok {
				out, cur = append(out, r), len(out)
			}
		default:
			f, rest, _ := strings.Cut(line, " ")
			p, err := parsePrefix(f)
			if err != nil {
				return out, fmt.Errorf("parse BIRD routes: prefix in %q: %w", line, err)
			}
			prefix, cur = p, -1
			if r, ok := birdPath(prefix, strings.TrimSpace(rest)); ok {
				out, cur = append(out, r), len(out)
			}
		}
	}
	return out, sc.Err()
}

func birdPath(prefix netip.Prefix, header string) (Route, bool) {
	m := pathHeader.FindStringSubmatch(header)
	if m == nil || !prefix.IsValid() {
		return Route{}, false
	}
	return Route{Prefix: prefix, From: m[2], Best: m[3] != ""}, true
}

// birdAttr applies one indented attribute line to r.
func birdAttr(r *Route, line string) {
	if rest, ok := strings.CutPrefix(line, "via "); ok {
		if a, err := netip.ParseAddr(strings.Fields(rest + " x")[0]); err == nil && !r.NextHop.IsValid() {
			r.NextHop = a
		}
		return
	}
	key, val, ok := strings.Cut(line, ":")
	if !ok {
		return
	}
	val = strings.TrimSpace(val)
	switch key {
	case "BGP.as_path":
		r.ASPath = val
	case "BGP.local_pref":
		lp, _ := strconv.ParseUint(val, 10, 32)
		r.LocalPref = uint32(lp)
	case "BGP.next_hop":
		if a, err := netip.ParseAddr(strings.Fields(val + " x")[0]); err == nil && !r.NextHop.IsValid() {
			r.NextHop = a
		}
	case "BGP.community":
		r.Communities = birdTuples(val)
	case "BGP.large_community":
		r.LargeCommunities = birdTuples(val)
	}
}

// birdTuples turns "(64500,7) (64500, 8, 9)" into ["64500:7", "64500:8:9"].
func birdTuples(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ")") {
		part = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(part), "("))
		if part == "" {
			continue
		}
		fields := strings.Split(part, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		out = append(out, strings.Join(fields, ":"))
	}
	return out
}
