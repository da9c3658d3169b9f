package routers

import (
	"context"
	"fmt"
)

// HonourGracefulShutdown makes FRR (AS asn) honour the GRACEFUL_SHUTDOWN
// community (RFC 8326) on paths from the given neighbours or peer groups,
// in both address families, or stops it (on false): an inbound route-map
// gives such paths LOCAL_PREF 1, so every other path is preferred (FRR 8.4
// silently drops "set local-preference 0", RFC 8326's value). This is the
// router-side setting the README documents.
func (f *FRR) HonourGracefulShutdown(ctx context.Context, asn uint32, on bool, neighbors ...string) error {
	no := ""
	if !on {
		no = "no "
	}
	cmds := []string{"conf t"}
	if on {
		cmds = append(cmds, "bgp community-list standard GSHUT seq 5 permit graceful-shutdown",
			"route-map PYLON-GSHUT permit 10", "match community GSHUT", "set local-preference 1", "exit",
			"route-map PYLON-GSHUT permit 20", "exit")
	}
	cmds = append(cmds, fmt.Sprintf("router bgp %d", asn))
	for _, fam := range []string{"ipv4", "ipv6"} {
		cmds = append(cmds, "address-family "+fam+" unicast")
		for _, n := range neighbors {
			cmds = append(cmds, fmt.Sprintf("%sneighbor %s route-map PYLON-GSHUT in", no, n))
		}
		cmds = append(cmds, "exit-address-family")
	}
	if !on {
		cmds = append(cmds, "exit", "no route-map PYLON-GSHUT", "no bgp community-list standard GSHUT")
	}
	if _, err := f.Vtysh(ctx, cmds...); err != nil {
		return fmt.Errorf("FRR %s: graceful shutdown honoured=%v: %w", f.Name(), on, err)
	}
	return nil
}

// IsGracefulShutdown matches FRR's renderings of the GRACEFUL_SHUTDOWN
// community (65535:0) in a Route's Communities (JSON: "gracefulShutdown").
func IsGracefulShutdown(c string) bool {
	return c == "gracefulShutdown" || c == "graceful-shutdown" || c == "65535:0"
}
