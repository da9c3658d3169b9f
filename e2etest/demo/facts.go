package demo

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Write prints the facts for a human: per Service its IPs, who announces
// each and who answered an HTTP request through it.
func (f *Facts) Write(w io.Writer) error {
	var b strings.Builder
	for _, s := range f.Services {
		fmt.Fprintf(&b, "Service %s/%s (pool %s, %s mode):\n", Namespace, s.Name, s.Pool, s.Mode)
		if s.Err != "" {
			fmt.Fprintf(&b, "  no IP: %s\n", s.Err)
		}
		for _, ip := range s.IPs {
			fmt.Fprintf(&b, "  %-16s %s\n", ip.IP, ip.announced(s.Mode))
			fmt.Fprintf(&b, "  %-16s %s\n", "", ip.answered())
			if ip.Err != "" {
				fmt.Fprintf(&b, "  %-16s (!) %s\n", "", ip.Err)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// announced says who announces the IP.
func (ip IPFacts) announced(m Mode) string {
	if m == L2 {
		if ip.MAC == "" {
			return "announced by: nobody yet (no neighbour entry at the client)"
		}
		return fmt.Sprintf("announced by %s (the client's %s entry: %s)", orUnknown(ip.Announcer), neighProto(ip), ip.MAC)
	}
	if len(ip.NextHops) == 0 {
		return fmt.Sprintf("no route at the router (%d paths in FRR's BGP table)", ip.RouterPaths)
	}
	return fmt.Sprintf("routed by the router via %s (%d paths in FRR's BGP table)", strings.Join(ip.NextHops, ", "), ip.RouterPaths)
}

// answered says which node answered the HTTP request.
func (ip IPFacts) answered() string {
	url := "http://" + ip.IP.String() + "/"
	if ip.IP.Is6() {
		url = "http://[" + ip.IP.String() + "]/"
	}
	if ip.Answer == "" {
		return fmt.Sprintf("%s → %s: no answer", ip.From, url)
	}
	return fmt.Sprintf("%s → %s answered by %s", ip.From, url, ip.Answer)
}

func neighProto(ip IPFacts) string {
	if ip.IP.Is4() {
		return "ARP"
	}
	return "NDP"
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown host"
	}
	return s
}

// Check returns an error for each fact that is not what a working Pylon
// shows: a Service without an IPv4 and an IPv6 address, an L2 IP whose
// announcing node is not the one answering, a BGP IP without a route
// through every one of speakers nodes or without an answer.
func (f *Facts) Check(speakers int) error {
	var errs []error
	for _, s := range f.Services {
		var v4, v6 bool
		for _, ip := range s.IPs {
			v4, v6 = v4 || ip.IP.Is4(), v6 || ip.IP.Is6()
			if err := ip.check(s.Mode, speakers); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", s.Name, ip.IP, err))
			}
		}
		if !v4 || !v6 {
			errs = append(errs, fmt.Errorf("%s: want an IPv4 and an IPv6 address, have %d IPs (%s)", s.Name, len(s.IPs), s.Err))
		}
	}
	return errors.Join(errs...)
}

func (ip IPFacts) check(m Mode, speakers int) error {
	switch {
	case ip.Answer == "":
		return fmt.Errorf("no HTTP answer from %s (%s)", ip.From, ip.Err)
	case m == L2 && ip.Announcer != ip.Answer:
		return fmt.Errorf("announced by %q but answered by %q", ip.Announcer, ip.Answer)
	case m == BGP && len(ip.NextHops) != speakers:
		return fmt.Errorf("router's route via %v, want %d nodes", ip.NextHops, speakers)
	}
	return nil
}
