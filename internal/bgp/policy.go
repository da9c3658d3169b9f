package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// Per-session targeting (Path.Peers) uses gobgp's global export policy,
// because gobgp has per-neighbor policies only for route-server clients.
// Every session gets one policy, listed in the global export assignment:
//
//	pylon/NAME/deny4: neighbor in {ADDRESS} and prefix in deny4 set -> reject
//	pylon/NAME/deny6: neighbor in {ADDRESS} and prefix in deny6 set -> reject
//	pylon/NAME/nexthop (optional): neighbor in {ADDRESS} and family is the
//	    session's other family -> set next hop IPv4NextHop/IPv6NextHop
//
// A prefix is in a session's deny set when its Path.Peers is non-empty and
// does not name the session. Sets are edited in place (gobgp evaluates them
// live), so announcing a prefix costs one set edit per session whose verdict
// changes and none for paths sent to every session.
const policyPrefix = "pylon/"

type policyNames struct{ policy, neighbor, deny4, deny6, nexthop string }

func namesFor(peer string) policyNames {
	base := policyPrefix + peer
	return policyNames{
		policy:   base,
		neighbor: base + "/neighbor",
		deny4:    base + "/deny4",
		deny6:    base + "/deny6",
		nexthop:  base + "/nexthop",
	}
}

func (n policyNames) denySet(prefix netip.Prefix) string {
	if prefix.Addr().Is4() {
		return n.deny4
	}
	return n.deny6
}

// importNothing makes gobgp drop every received route. gobgp runs the
// import policy on locally originated paths too, so those are accepted.
func importNothing(ctx context.Context, bs *server.BgpServer) error {
	local := &api.Policy{Name: policyPrefix + "import", Statements: []*api.Statement{{
		Name:       policyPrefix + "import/local",
		Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
	}}}
	if err := bs.AddPolicy(ctx, &api.AddPolicyRequest{Policy: local}); err != nil {
		return fmt.Errorf("define import policy: %w", err)
	}
	err := bs.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name:          "global",
		Direction:     api.PolicyDirection_POLICY_DIRECTION_IMPORT,
		Policies:      []*api.Policy{{Name: local.Name}},
		DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
	}})
	if err != nil {
		return fmt.Errorf("set import policy: %w", err)
	}
	return nil
}

// setExportPolicies lists the policies of the named sessions in the global
// export assignment (default accept).
func setExportPolicies(ctx context.Context, bs *server.BgpServer, peers []string) error {
	policies := make([]*api.Policy, len(peers))
	for i, name := range peers {
		policies[i] = &api.Policy{Name: namesFor(name).policy}
	}
	err := bs.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name:          "global",
		Direction:     api.PolicyDirection_POLICY_DIRECTION_EXPORT,
		Policies:      policies,
		DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT,
	}})
	if err != nil {
		return fmt.Errorf("set export policies: %w", err)
	}
	return nil
}

// addPeerPolicy defines the sets and the policy of one session with the
// router at addr; deny is its initial deny list. The caller then lists it
// with setExportPolicies. gobgp matches neighbor sets without the zone, so
// two unnumbered sessions whose routers use the same link-local address
// share their targeting.
func addPeerPolicy(ctx context.Context, bs *server.BgpServer, p PeerConfig, addr netip.Addr, deny []netip.Prefix) error {
	n := namesFor(p.Name)
	var d4, d6 []*api.Prefix
	for _, pfx := range deny {
		if pfx.Addr().Is4() {
			d4 = append(d4, apiPrefix(pfx))
		} else {
			d6 = append(d6, apiPrefix(pfx))
		}
	}
	addr = addr.WithZone("")
	sets := []*api.DefinedSet{
		{DefinedType: api.DefinedType_DEFINED_TYPE_NEIGHBOR, Name: n.neighbor, List: []string{netip.PrefixFrom(addr, addr.BitLen()).String()}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: n.deny4, Prefixes: d4},
		{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: n.deny6, Prefixes: d6},
	}
	for _, s := range sets {
		if err := bs.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: s, Replace: true}); err != nil {
			return fmt.Errorf("define set %q: %w", s.Name, err)
		}
	}
	if err := bs.AddPolicy(ctx, &api.AddPolicyRequest{Policy: peerPolicy(p, n)}); err != nil {
		return fmt.Errorf("define policy %q: %w", n.policy, err)
	}
	return nil
}

func peerPolicy(p PeerConfig, n policyNames) *api.Policy {
	neighbor := &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: n.neighbor}
	reject := &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_REJECT}
	stmts := []*api.Statement{
		{Name: n.deny4, Conditions: &api.Conditions{NeighborSet: neighbor, PrefixSet: &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: n.deny4}}, Actions: reject},
		{Name: n.deny6, Conditions: &api.Conditions{NeighborSet: neighbor, PrefixSet: &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: n.deny6}}, Actions: reject},
	}
	fam, nh := familyIPv6, p.IPv6NextHop
	if p.Address.Is6() {
		fam, nh = familyIPv4, p.IPv4NextHop
	}
	if nh.IsValid() {
		stmts = append(stmts, &api.Statement{
			Name:       n.nexthop,
			Conditions: &api.Conditions{NeighborSet: neighbor, AfiSafiIn: []*api.Family{fam}},
			Actions:    &api.Actions{Nexthop: &api.NexthopAction{Address: nh.String()}},
		})
	}
	return &api.Policy{Name: n.policy, Statements: stmts}
}

// deletePeerPolicy removes what addPeerPolicy defined; the caller must have
// unlisted it with setExportPolicies first. It tries every step.
func deletePeerPolicy(ctx context.Context, bs *server.BgpServer, name string) error {
	n := namesFor(name)
	var errs []error
	if err := bs.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: n.policy}, All: true}); err != nil {
		errs = append(errs, fmt.Errorf("delete policy %q: %w", n.policy, err))
	}
	for _, s := range []struct {
		t    api.DefinedType
		name string
	}{{api.DefinedType_DEFINED_TYPE_NEIGHBOR, n.neighbor}, {api.DefinedType_DEFINED_TYPE_PREFIX, n.deny4}, {api.DefinedType_DEFINED_TYPE_PREFIX, n.deny6}} {
		err := bs.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: &api.DefinedSet{DefinedType: s.t, Name: s.name}, All: true})
		if err != nil {
			errs = append(errs, fmt.Errorf("delete set %q: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// setDenied adds prefix to (deny) or removes it from the deny set of the
// session called peer.
func setDenied(ctx context.Context, bs *server.BgpServer, peer string, prefix netip.Prefix, deny bool) error {
	set := &api.DefinedSet{
		DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX,
		Name:        namesFor(peer).denySet(prefix),
		Prefixes:    []*api.Prefix{apiPrefix(prefix)},
	}
	var err error
	if deny {
		err = bs.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: set})
	} else {
		err = bs.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: set})
	}
	if err != nil {
		return fmt.Errorf("update set %q with %s: %w", set.Name, prefix, err)
	}
	return nil
}

func apiPrefix(p netip.Prefix) *api.Prefix {
	return &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: uint32(p.Bits())}
}
