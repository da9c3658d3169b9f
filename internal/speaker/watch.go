package speaker

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// registerHandlers subscribes to Service, EndpointSlice and Node changes.
// Handlers only mark what changed and wake the loop; the informers'
// initial listing marks every existing object.
func (a *Agent) registerHandlers(ctx context.Context) error {
	subs := []struct {
		obj  client.Object
		mark func(obj any)
	}{
		{&corev1.Service{}, func(obj any) {
			if o, ok := objectOf(obj); ok {
				a.markService(o.GetNamespace() + "/" + o.GetName())
			}
		}},
		{&discoveryv1.EndpointSlice{}, func(obj any) {
			if o, ok := objectOf(obj); ok {
				if svc := o.GetLabels()[discoveryv1.LabelServiceName]; svc != "" {
					a.markService(o.GetNamespace() + "/" + svc)
				}
			}
		}},
		{&corev1.Node{}, func(any) { a.markNodes() }},
	}
	for _, s := range subs {
		inf, err := a.cfg.Cache.GetInformer(ctx, s.obj)
		if err != nil {
			return fmt.Errorf("watch %T: %w", s.obj, err)
		}
		mark := s.mark
		_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    mark,
			UpdateFunc: func(_, n any) { mark(n) },
			DeleteFunc: mark,
		})
		if err != nil {
			return fmt.Errorf("subscribe to %T: %w", s.obj, err)
		}
	}
	return nil
}

// objectOf extracts the object from an informer notification, including
// the tombstone of a missed deletion.
func objectOf(obj any) (client.Object, bool) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, ok := obj.(client.Object)
	return o, ok
}
