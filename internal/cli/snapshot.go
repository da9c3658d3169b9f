package cli

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/configwatch/crwatch"
	"github.com/pylonlb/pylon/internal/model"
)

// snapshot is everything the commands read from the cluster, read once:
// the configuration objects, the Services and what the controller and the
// speakers published about them.
type snapshot struct {
	objects  model.Objects
	services []corev1.Service
	// namespaces' labels, by name
	namespaces map[string]map[string]string
	nodes      []corev1.Node
	// endpoint slices by Service
	slices  map[types.NamespacedName][]*discoveryv1.EndpointSlice
	l2      []v1beta1.ServiceL2Status
	bgp     []v1beta1.ServiceBGPStatus
	states  []v1beta1.ConfigurationState
	speaker []corev1.Pod
	events  []corev1.Event
}

// load reads the snapshot. eventsNS limits the events read to one
// namespace ("" reads all).
func load(ctx context.Context, c client.Reader, pylonNS, eventsNS string) (*snapshot, error) {
	s := &snapshot{namespaces: map[string]map[string]string{}, slices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{}}
	if err := loadConfig(ctx, c, pylonNS, &s.objects); err != nil {
		return nil, err
	}
	inPylon := client.InNamespace(pylonNS)
	var svcs corev1.ServiceList
	var nss corev1.NamespaceList
	var nodes corev1.NodeList
	var eps discoveryv1.EndpointSliceList
	var l2 v1beta1.ServiceL2StatusList
	var bgp v1beta1.ServiceBGPStatusList
	var states v1beta1.ConfigurationStateList
	var pods corev1.PodList
	var events corev1.EventList
	for _, l := range []struct {
		what string
		list client.ObjectList
		opts []client.ListOption
	}{
		{"Services", &svcs, nil},
		{"Namespaces", &nss, nil},
		{"Nodes", &nodes, nil},
		{"EndpointSlices", &eps, nil},
		{"ServiceL2Statuses", &l2, nil},
		{"ServiceBGPStatuses", &bgp, []client.ListOption{inPylon}},
		{"ConfigurationStates", &states, []client.ListOption{inPylon}},
		{"speaker Pods", &pods, []client.ListOption{inPylon, speakerLabels()}},
		{"Events", &events, []client.ListOption{client.InNamespace(eventsNS), client.MatchingFields{"involvedObject.kind": "Service"}}},
	} {
		if err := c.List(ctx, l.list, l.opts...); err != nil {
			return nil, fmt.Errorf("list %s: %w", l.what, err)
		}
	}
	s.services, s.nodes, s.l2, s.bgp, s.states, s.speaker, s.events = svcs.Items, nodes.Items, l2.Items, bgp.Items, states.Items, pods.Items, events.Items
	for _, ns := range nss.Items {
		s.namespaces[ns.Name] = ns.Labels
	}
	for i := range eps.Items {
		es := &eps.Items[i]
		if name := es.Labels[discoveryv1.LabelServiceName]; name != "" {
			key := types.NamespacedName{Namespace: es.Namespace, Name: name}
			s.slices[key] = append(s.slices[key], es)
		}
	}
	return s, nil
}

// speakerLabels selects the speaker pods in Pylon's namespace (the
// chart's labels).
func speakerLabels() client.ListOption {
	return client.MatchingLabels{"app.kubernetes.io/name": "pylon", "app.kubernetes.io/component": "speaker"}
}

// loadConfig reads Pylon's configuration objects, and the Secrets BGPPeers
// name (a Secret the user may not read is left out: the model then
// reports the peer's password as missing).
func loadConfig(ctx context.Context, c client.Reader, ns string, o *model.Objects) error {
	var err error
	if *o, err = crwatch.LoadConfig(ctx, c, ns); err != nil {
		return err
	}
	for _, p := range o.Peers {
		if p.Spec.PasswordSecret == nil {
			continue
		}
		var sec corev1.Secret
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Spec.PasswordSecret.Name}, &sec)
		switch {
		case err == nil:
			o.Secrets = append(o.Secrets, sec)
		case !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
			return fmt.Errorf("get BGPPeer %q's password Secret: %w", p.Name, err)
		}
	}
	return nil
}
