package cli

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/controller/allocation"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
	"github.com/pylonlb/pylon/internal/webhook"
)

// DryRun is validate's answer.
type DryRun struct {
	// Refused is the webhook's refusal of the first object it refuses.
	Refused string `json:"refused,omitempty"`
	// Accepted lists the changes the webhook accepts, in order.
	Accepted []string `json:"accepted,omitempty"`
	// Warnings are the webhook's warnings.
	Warnings []string `json:"warnings,omitempty"`
	// StillInvalid is set when the configuration stays invalid (problems
	// that existed before): the controller would not load it.
	StillInvalid string `json:"stillInvalid,omitempty"`
	// Changes are the Services whose addresses or announcement change.
	Changes []ServiceChange `json:"changes,omitempty"`
}

// ServiceChange is what a configuration change does to one Service.
type ServiceChange struct {
	Service string   `json:"service"`
	Before  []string `json:"before,omitempty"`
	After   []string `json:"after,omitempty"`
	// What says it in plain words.
	What string `json:"what"`
	// Breaks is true when the Service loses or changes an address, or
	// stops being announced.
	Breaks bool `json:"breaks"`
}

// Breaks reports whether anything would break.
func (d *DryRun) Breaks() bool {
	return d.StillInvalid != "" || slices.ContainsFunc(d.Changes, func(c ServiceChange) bool { return c.Breaks })
}

// dryRun applies the objects to the snapshot's configuration one by one,
// each judged by the webhook's decision, then runs the controller's
// allocation and the speakers' plans on the result and compares them
// with the current ones.
func dryRun(s *snapshot, lbClass string, objs []client.Object) DryRun {
	var d DryRun
	cur := s.objects
	for _, obj := range objs {
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		op := webhook.Create
		if exists(cur, kind, obj.GetName()) {
			op = webhook.Update
		}
		ch := webhook.Change{Op: op, Kind: kind, Name: obj.GetName(), Object: obj}
		v := webhook.Decide(webhook.Input{Existing: cur, Change: ch, Services: s.services})
		if !v.Allowed {
			d.Refused = v.Message
			return d
		}
		next, err := webhook.Apply(cur, ch)
		if err != nil {
			d.Refused = err.Error()
			return d
		}
		cur = next
		d.Accepted = append(d.Accepted, fmt.Sprintf("%s %s %q", op, kind, obj.GetName()))
		d.Warnings = append(d.Warnings, v.Warnings...)
	}
	cfg, err := model.From(cur)
	if err != nil {
		d.StillInvalid = err.Error()
		return d
	}
	before := newWorld(s, lbClass, nil)
	after := newWorld(s, lbClass, cfg)
	d.Changes = compareWorlds(before, after.settle())
	return d
}

// exists reports whether the objects hold one of that kind and name.
func exists(o model.Objects, kind, name string) bool {
	var names []string
	switch kind {
	case webhook.KindPool:
		names = namesOf(o.Pools)
	case webhook.KindL2:
		names = namesOf(o.L2Advertisements)
	case webhook.KindBGP:
		names = namesOf(o.BGPAdvertisements)
	case webhook.KindPeer:
		names = namesOf(o.Peers)
	case webhook.KindBFD:
		names = namesOf(o.BFDProfiles)
	case webhook.KindCommunity:
		names = namesOf(o.Communities)
	}
	return slices.Contains(names, name)
}

func namesOf[T any, PT interface {
	*T
	client.Object
}](list []T) []string {
	out := make([]string, len(list))
	for i := range list {
		out[i] = PT(&list[i]).GetName()
	}
	return out
}

// settle runs the controller's allocation for every Service it serves,
// oldest first, on the restored books (the controller re-reconciles every
// Service after a configuration change), and makes the plans' Services
// carry the resulting addresses.
func (w *world) settle() *world {
	if w.cfg == nil {
		return w
	}
	svcs := slices.Clone(w.snap.services)
	slices.SortFunc(svcs, func(a, b corev1.Service) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	got := map[types.NamespacedName][]netip.Addr{}
	for i := range svcs {
		svc := &svcs[i]
		key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		if !allocation.WantsAddress(svc, w.lbClass) {
			continue
		}
		req, err := w.request(svc)
		if err != nil {
			asg, _ := w.alloc.Get(key.String())
			got[key] = asg.IPs
			continue
		}
		if _, err := w.alloc.Allocate(req); err != nil {
			w.notRestored[key.String()] = err
		}
		asg, _ := w.alloc.Get(key.String())
		got[key] = asg.IPs
	}
	w.planSvcs = w.planServices(func(svc *corev1.Service) []netip.Addr {
		ips, ok := got[types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}]
		if !ok {
			return nil
		}
		if ips == nil {
			ips = []netip.Addr{}
		}
		return ips
	})
	w.settled = got
	w.l2Plan = nil
	return w
}

// compareWorlds lists the Services whose addresses or announcement differ.
func compareWorlds(before, after *world) []ServiceChange {
	l2Before, l2After := l2Owners(before), l2Owners(after)
	var out []ServiceChange
	for i := range before.snap.services {
		svc := &before.snap.services[i]
		key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		old := addrs(ingressStrings(svc))
		nu, served := after.settled[key]
		if !served {
			continue
		}
		c := ServiceChange{Service: key.String(), Before: strs(old), After: strs(nu)}
		switch {
		case len(old) > 0 && len(nu) == 0:
			c.What, c.Breaks = "loses its address: "+cmp.Or(errText(after.notRestored[key.String()]), "no pool serves it"), true
		case len(old) > 0 && !slices.Equal(old, nu):
			c.What, c.Breaks = fmt.Sprintf("its address changes from %s to %s", joinAddrs(old), joinAddrs(nu)), true
		case len(old) == 0 && len(nu) > 0:
			c.What = fmt.Sprintf("gets %s", joinAddrs(nu))
		}
		if c.What == "" && len(nu) > 0 {
			c.What, c.Breaks = announcementChange(before, after, key, l2Before[key], l2After[key])
		}
		if c.What != "" {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y ServiceChange) int { return strings.Compare(x.Service, y.Service) })
	return out
}

// announcementChange compares how one Service with unchanged addresses is
// announced before and after.
func announcementChange(before, after *world, key types.NamespacedName, l2b, l2a string) (string, bool) {
	bgpB, bgpA := bgpAnnouncers(before, key), bgpAnnouncers(after, key)
	switch {
	case l2b != "" && l2a == "":
		return fmt.Sprintf("stops being announced in L2 (by %s): %s", l2b, after.l2Why(key)), true
	case !bgpB.Empty() && bgpA.Empty():
		return fmt.Sprintf("stops being announced over BGP (by %s): %s", strings.Join(bgpB.Nodes, ", "), after.bgpWhy(key)), true
	case l2b != l2a && l2b != "":
		return fmt.Sprintf("its L2 owner moves from %s to %s", l2b, l2a), false
	case l2b == "" && l2a != "":
		return fmt.Sprintf("starts being announced in L2 by %s", l2a), false
	case !bgpB.Equal(bgpA):
		return fmt.Sprintf("its BGP announcement changes: nodes %v → %v, prefixes %v → %v, peers %v → %v",
			bgpB.Nodes, bgpA.Nodes, bgpB.Prefixes, bgpA.Prefixes, bgpB.Peers, bgpA.Peers), false
	}
	return "", false
}

// l2Owners returns, by Service, the nodes the L2 plan elects, joined.
func l2Owners(w *world) map[types.NamespacedName]string {
	out := map[types.NamespacedName]string{}
	if w.cfg == nil {
		return out
	}
	owners := map[types.NamespacedName][]string{}
	for _, a := range plan.L2(w.l2Input(w.planSvcs)).Announcements {
		for _, k := range a.Services {
			owners[k] = append(owners[k], a.Node)
		}
	}
	for k, ns := range owners {
		slices.Sort(ns)
		out[k] = strings.Join(slices.Compact(ns), ",")
	}
	return out
}

// bgpAnnouncers computes who announces a Service over BGP.
func bgpAnnouncers(w *world, key types.NamespacedName) plan.BGPAnnouncement {
	ps, ok := w.planService(key)
	if !ok || w.cfg == nil {
		return plan.BGPAnnouncement{}
	}
	return plan.BGPAnnouncers(w.cfg, w.nodeList, &ps)
}

func strs(ips []netip.Addr) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return stripPrefix(err.Error())
}
