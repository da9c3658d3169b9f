package speaker

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/pylonlb/pylon/internal/kube"
)

// ClusterView is what the agent reads of the cluster: Services, their
// EndpointSlices and Nodes, and their changes. Cluster satisfies it. The
// objects returned are shared with the cache: read, never modify.
type ClusterView interface {
	// Service returns the Service of a key.
	Service(key types.NamespacedName) (*corev1.Service, bool)
	// EndpointSlices returns the slices of one Service.
	EndpointSlices(service types.NamespacedName) []*discoveryv1.EndpointSlice
	// Nodes returns every Node.
	Nodes() []*corev1.Node
	// Subscribe calls service with the key of every Service whose object or
	// slices change, and nodes after every Node change; existing objects
	// count as changes.
	Subscribe(service func(key types.NamespacedName), nodes func()) error
}

// endpointSliceServiceIndex indexes EndpointSlices by the key of their
// Service (in its "namespace/name" string form) (the kubernetes.io/service-name label). Without it,
// reading one Service's slices scans every slice of its namespace: with
// 1,000 Services in one namespace, refreshing each cost a scan of 1,000
// (12% of a speaker's CPU while they were created).
const endpointSliceServiceIndex = "pylon.service"

// Cluster holds the speaker's informers over Services, EndpointSlices and
// Nodes, each trimmed to what the speaker reads (trim.go): every node
// caches every one of them, so what is dropped is memory saved on every
// node.
type Cluster struct {
	services, slices, nodes cache.SharedIndexInformer
}

var _ ClusterView = (*Cluster)(nil)

// NewCluster builds (and does not start) the informers.
func NewCluster(kc *kube.Client) (*Cluster, error) {
	var c Cluster
	var err error
	if c.services, err = kc.Informer(&corev1.Service{}, kube.InformerOptions{Transform: trimService}); err != nil {
		return nil, err
	}
	c.slices, err = kc.Informer(&discoveryv1.EndpointSlice{}, kube.InformerOptions{Transform: trimEndpointSlice,
		Indexers: cache.Indexers{endpointSliceServiceIndex: endpointSliceService}})
	if err != nil {
		return nil, err
	}
	if c.nodes, err = kc.Informer(&corev1.Node{}, kube.InformerOptions{Transform: trimNode}); err != nil {
		return nil, err
	}
	return &c, nil
}

// endpointSliceService is the index function: the key of the slice's
// Service.
func endpointSliceService(obj any) ([]string, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	if name := es.Labels[discoveryv1.LabelServiceName]; name != "" {
		return []string{types.NamespacedName{Namespace: es.Namespace, Name: name}.String()}, nil
	}
	return nil, nil
}

// Start runs the informers until ctx ends; it returns at once.
func (c *Cluster) Start(ctx context.Context) {
	for _, inf := range []cache.SharedIndexInformer{c.services, c.slices, c.nodes} {
		go inf.RunWithContext(ctx)
	}
}

// HasSynced reports whether every informer has listed its objects.
func (c *Cluster) HasSynced() bool {
	return c.services.HasSynced() && c.slices.HasSynced() && c.nodes.HasSynced()
}

// Service returns the Service of a key.
func (c *Cluster) Service(key types.NamespacedName) (*corev1.Service, bool) {
	obj, ok, err := c.services.GetStore().GetByKey(key.String())
	if err != nil || !ok {
		return nil, false
	}
	svc, ok := obj.(*corev1.Service)
	return svc, ok
}

// EndpointSlices returns the slices of one Service.
func (c *Cluster) EndpointSlices(service types.NamespacedName) []*discoveryv1.EndpointSlice {
	objs, err := c.slices.GetIndexer().ByIndex(endpointSliceServiceIndex, service.String())
	if err != nil {
		return nil
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if es, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, es)
		}
	}
	return out
}

// Nodes returns every Node.
func (c *Cluster) Nodes() []*corev1.Node {
	objs := c.nodes.GetStore().List()
	out := make([]*corev1.Node, 0, len(objs))
	for _, o := range objs {
		if n, ok := o.(*corev1.Node); ok {
			out = append(out, n)
		}
	}
	return out
}

// Subscribe registers the change handlers.
func (c *Cluster) Subscribe(service func(key types.NamespacedName), nodes func()) error {
	subs := []struct {
		inf  cache.SharedIndexInformer
		mark func(obj any)
	}{
		{c.services, func(obj any) {
			if o, ok := objectOf(obj); ok {
				service(types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()})
			}
		}},
		{c.slices, func(obj any) {
			if o, ok := objectOf(obj); ok {
				if svc := o.GetLabels()[discoveryv1.LabelServiceName]; svc != "" {
					service(types.NamespacedName{Namespace: o.GetNamespace(), Name: svc})
				}
			}
		}},
		{c.nodes, func(any) { nodes() }},
	}
	for _, s := range subs {
		mark := s.mark
		_, err := s.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    mark,
			UpdateFunc: func(_, n any) { mark(n) },
			DeleteFunc: mark,
		})
		if err != nil {
			return fmt.Errorf("subscribe to cluster changes: %w", err)
		}
	}
	return nil
}

// objectOf extracts the object from an informer notification, including
// the tombstone of a missed deletion.
func objectOf(obj any) (kube.Object, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, ok := obj.(kube.Object)
	return o, ok
}
