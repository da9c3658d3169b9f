package ipam

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// request is a validated Request.
type request struct {
	Request
	fams  []Family      // wanted families, in order
	asked [2]netip.Addr // requested address per family; invalid when none
}

// prepare validates req and works out the wanted families.
func prepare(req Request) (*request, error) {
	if req.Key == "" {
		return nil, fmt.Errorf("empty service key: %w", ErrInvalidRequest)
	}
	fams, err := wantedFamilies(req)
	if err != nil {
		return nil, err
	}
	r := &request{Request: req, fams: fams}
	for _, ip := range req.RequestedIPs {
		ip = ip.Unmap()
		f := FamilyOf(ip)
		switch {
		case !ip.IsValid() || ip.Zone() != "":
			return nil, fmt.Errorf("requested IP %q is not a plain address: %w", ip, ErrInvalidRequest)
		case !slices.Contains(fams, f):
			return nil, fmt.Errorf("requested IP %s is %s but the service uses %s: %w", ip, f, famList(fams), ErrWrongFamily)
		case r.asked[f].IsValid() && r.asked[f] != ip:
			return nil, fmt.Errorf("requested IPs %s and %s are both %s; at most one per family: %w", r.asked[f], ip, f, ErrInvalidRequest)
		}
		r.asked[f] = ip
	}
	return r, nil
}

// wantedFamilies applies the family policy to req.Families. SingleStack
// keeps the first family; RequireDualStack with one family adds the other.
func wantedFamilies(req Request) ([]Family, error) {
	fams := slices.Clone(req.Families)
	if len(fams) == 0 {
		fams = []Family{IPv4}
	}
	if len(fams) > 2 || !fams[0].valid() || (len(fams) == 2 && (!fams[1].valid() || fams[0] == fams[1])) {
		return nil, fmt.Errorf("families %v: want one or two distinct families: %w", req.Families, ErrInvalidRequest)
	}
	switch req.FamilyPolicy {
	case SingleStack:
		return fams[:1], nil
	case PreferDualStack:
		return fams, nil
	case RequireDualStack:
		if len(fams) == 1 {
			fams = append(fams, fams[0].other())
		}
		return fams, nil
	}
	return nil, fmt.Errorf("family policy %v: %w", req.FamilyPolicy, ErrInvalidRequest)
}

// modes lists the family sets to try, best first.
func (r *request) modes() [][]Family {
	if len(r.fams) == 1 {
		return [][]Family{r.fams}
	}
	if r.FamilyPolicy == RequireDualStack {
		return [][]Family{r.fams}
	}
	return [][]Family{r.fams, r.fams[:1], r.fams[1:]}
}

func (r *request) hasAsked() bool { return r.asked[IPv4].IsValid() || r.asked[IPv6].IsValid() }

// newSvc records the request's sharing parameters with ips.
func (r *request) newSvc(pool string, ips []netip.Addr) *svc {
	return &svc{
		key: r.Key, pool: pool, ips: ips,
		sharingKey: r.SharingKey, backendKey: r.BackendKey, ports: slices.Clone(r.Ports),
	}
}

// compatible reports whether r may share an address held by h.
func compatible(h *svc, r *request) bool {
	if r.SharingKey == "" || h.sharingKey != r.SharingKey || h.backendKey != r.BackendKey {
		return false
	}
	for _, p := range r.Ports {
		for _, q := range h.ports {
			if p.Port == q.Port && strings.EqualFold(p.Protocol, q.Protocol) {
				return false
			}
		}
	}
	return true
}

// conflict explains why h and r cannot share an address, or returns "".
func conflict(h *svc, r *request) string {
	switch {
	case r.SharingKey == "":
		return "service " + r.Key + " sets no sharing key"
	case h.sharingKey == "":
		return "service " + h.key + " sets no sharing key"
	case h.sharingKey != r.SharingKey:
		return fmt.Sprintf("the sharing keys differ (%q and %q)", h.sharingKey, r.SharingKey)
	case h.backendKey != r.BackendKey:
		return fmt.Sprintf("the services select different backends (%q and %q)", h.backendKey, r.BackendKey)
	}
	for _, p := range r.Ports {
		for _, q := range h.ports {
			if p.Port == q.Port && strings.EqualFold(p.Protocol, q.Protocol) {
				return fmt.Sprintf("both use port %s/%d", strings.ToUpper(p.Protocol), p.Port)
			}
		}
	}
	return ""
}

func famList(fams []Family) string {
	s := make([]string, len(fams))
	for i, f := range fams {
		s[i] = f.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}
