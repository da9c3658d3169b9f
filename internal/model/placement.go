package model

import (
	"fmt"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// Placement says how the node answering for an L2 address is chosen.
type Placement int

// Placements. The zero value is the default.
const (
	// PlacementHash elects each address group's node on its own by
	// rendezvous hashing (election.Winner).
	PlacementHash Placement = iota
	// PlacementBalanced places the address groups together under a load
	// bound (election.Balance).
	PlacementBalanced
)

// String returns the API spelling.
func (p Placement) String() string {
	switch p {
	case PlacementHash:
		return string(v1beta1.L2PlacementHash)
	case PlacementBalanced:
		return string(v1beta1.L2PlacementBalanced)
	}
	return fmt.Sprintf("Placement(%d)", int(p))
}

// PlacementFor decides the placement of an address group (one Service's
// addresses, or the addresses of Services sharing one) from the
// advertisements matching any of its Services: Balanced when any of them
// asks for it, else Hash. Balanced is opt-in, so an advertisement that
// says nothing, such as a catch-all one written before the field existed,
// does not veto it; the same union rule as for nodes and interfaces.
func PlacementFor(advs []*L2Advertisement) Placement {
	for _, a := range advs {
		if a.Placement == PlacementBalanced {
			return PlacementBalanced
		}
	}
	return PlacementHash
}

// convertPlacement validates spec.placement; empty means Hash.
func convertPlacement(c *collector, name string, p v1beta1.L2Placement) Placement {
	switch p {
	case "", v1beta1.L2PlacementHash:
		return PlacementHash
	case v1beta1.L2PlacementBalanced:
		return PlacementBalanced
	}
	c.add(kindL2, name, "spec.placement", "%q is not one of %s, %s", p, v1beta1.L2PlacementHash, v1beta1.L2PlacementBalanced)
	return PlacementHash
}
