// Package clab reads and writes the lab's network in containerlab's
// topology format (https://containerlab.dev: a name, nodes of kind linux
// or bridge with an image, and point-to-point links between "node:iface"
// endpoints), so that the topology the lab realises with namespaces here
// is one file a containerlab user runs elsewhere.
//
// Only what the lab uses is read: name, topology.nodes (kind, image,
// labels, exec) and topology.links (endpoints); other keys are refused, so
// a typo is not silently ignored. Parse is pure and fuzzed.
package clab

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Topology is a containerlab topology file.
type Topology struct {
	Name     string `json:"name"`
	Topology Body   `json:"topology"`
}

// Body is the file's topology section.
type Body struct {
	Nodes map[string]Node `json:"nodes"`
	Links []Link          `json:"links"`
}

// Node is one node. Kind is "linux" (a host: here a network namespace) or
// "bridge" (a Linux bridge: here the LAN bridge).
type Node struct {
	Kind   string            `json:"kind"`
	Image  string            `json:"image,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Exec are commands run in the node after it starts (addresses,
	// routes, sysctls).
	Exec []string `json:"exec,omitempty"`
}

// Link joins two endpoints "node:iface".
type Link struct {
	Endpoints []string `json:"endpoints"`
}

// Kinds of nodes.
const (
	KindLinux  = "linux"
	KindBridge = "bridge"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid containerlab topology")

var (
	nodeName  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	ifaceName = regexp.MustCompile(`^eth[0-9]{1,2}$`)
)

// Parse reads and validates a topology file. Errors name the node, link
// or field and what is wrong.
func Parse(b []byte) (*Topology, error) {
	var t Topology
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Validate checks names, kinds, and that every link joins two interfaces
// of defined nodes, each interface used once.
func (t *Topology) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if !nodeName.MatchString(t.Name) {
		bad("name %q: want lower-case letters, digits and dashes, starting with a letter", t.Name)
	}
	if len(t.Topology.Nodes) == 0 {
		bad("topology.nodes: no node")
	}
	for _, name := range t.NodeNames() {
		n := t.Topology.Nodes[name]
		switch {
		case !nodeName.MatchString(name):
			bad("node %q: invalid name (lower-case letters, digits and dashes, starting with a letter)", name)
		case n.Kind != KindLinux && n.Kind != KindBridge:
			bad("node %q: kind %q: want %q or %q", name, n.Kind, KindLinux, KindBridge)
		case n.Kind == KindLinux && n.Image == "":
			bad("node %q: kind linux needs an image", name)
		}
	}
	used := map[string]int{}
	for i, l := range t.Topology.Links {
		if len(l.Endpoints) != 2 {
			bad("links[%d]: %d endpoints, want 2", i, len(l.Endpoints))
			continue
		}
		for _, ep := range l.Endpoints {
			node, iface, ok := strings.Cut(ep, ":")
			n, known := t.Topology.Nodes[node]
			switch {
			case !ok || !ifaceName.MatchString(iface):
				bad("links[%d]: endpoint %q: want NODE:ethN", i, ep)
			case !known:
				bad("links[%d]: endpoint %q: no node %q", i, ep, node)
			case n.Kind == KindLinux && iface == "eth0":
				bad("links[%d]: endpoint %q: eth0 is containerlab's management interface, data links start at eth1", i, ep)
			default:
				if j, dup := used[ep]; dup {
					bad("links[%d]: endpoint %q is already used by links[%d]", i, ep, j)
				}
				used[ep] = i
			}
		}
		if len(l.Endpoints) == 2 && l.Endpoints[0] == l.Endpoints[1] {
			bad("links[%d]: both endpoints are %q", i, l.Endpoints[0])
		}
	}
	return errors.Join(errs...)
}

// NodeNames returns the node names, sorted.
func (t *Topology) NodeNames() []string {
	out := make([]string, 0, len(t.Topology.Nodes))
	for n := range t.Topology.Nodes {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Marshal renders the topology as YAML (nodes sorted by name).
func (t *Topology) Marshal() ([]byte, error) {
	return yaml.Marshal(t)
}

// Peer returns the endpoint linked to ep ("" when ep is in no link).
func (t *Topology) Peer(ep string) string {
	for _, l := range t.Topology.Links {
		if len(l.Endpoints) != 2 {
			continue
		}
		if l.Endpoints[0] == ep {
			return l.Endpoints[1]
		}
		if l.Endpoints[1] == ep {
			return l.Endpoints[0]
		}
	}
	return ""
}
