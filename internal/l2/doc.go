// Package l2 answers ARP (IPv4) and NDP Neighbor Solicitations (IPv6) for
// the service IPs this node announces, so that clients on the same layer-2
// segment send traffic for those IPs to this node.
//
// An Announcer owns one responder per usable interface. Each responder reads
// raw frames from two packet sockets (ARP and IPv6 NDP, the latter narrowed by
// a BPF filter), answers requests for the announced IPs with the interface's
// MAC address, and reports foreign announcers: another MAC claiming an IP
// this node announces or watches. When an IP is taken over, the Announcer sends
// gratuitous ARPs / unsolicited Neighbor Advertisements (Override set) at once
// and a few more over the next seconds, then refreshes them periodically.
// Giving an IP up stops answering at once.
//
// Raw sockets are used for IPv6 too, rather than an ICMPv6 socket bound to
// the link-local address: no bind can fail while the link-local address is
// still tentative, unicast Neighbor Unreachability Detection probes are seen
// even when the IP is not a local address of the node, and answers go straight
// to the requester's MAC without a neighbour lookup in the kernel. The
// solicited-node multicast groups are joined through an ordinary IPv6
// socket, so the kernel programs the NIC's multicast filter and sends MLD
// reports for snooping switches. Only CAP_NET_RAW is needed.
//
// A graceful hand-over uses the foreign sightings: the leaving node keeps
// announcing an IP until Foreign reports the successor's claim on it (or a
// timeout passes), then stops.
//
// The package decides purely and acts separately: frame parsing, the
// answer-or-not decisions, the interface selection, the announcement plan and
// the gratuitous schedule are pure functions; the Host interface is the seam
// to the operating system (package l2test provides an in-memory fake).
package l2
