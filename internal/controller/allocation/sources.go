package allocation

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Resync scopes: the name of the marker object sent on the resync channel.
const (
	resyncAll    = "all"    // every Service (configuration changed)
	resyncFailed = "failed" // Services whose last allocation failed (addresses were freed)
)

// signalResync asks for Services to be reconciled again. It never blocks:
// a pending "all" covers a "failed", and one pending signal of a kind is
// enough.
func (r *Reconciler) signalResync(scope string) {
	marker := &corev1.Service{}
	marker.Name = scope
	select {
	case r.resync <- event.GenericEvent{Object: marker}:
	default:
		if scope == resyncAll {
			// A "failed" signal may be queued; follow it with "all" from a
			// goroutine so the caller never blocks.
			go func() { r.resync <- event.GenericEvent{Object: marker} }()
		}
	}
}

// resyncSource turns resync signals into requests for the Services of the
// signalled scope, listed from the cache.
func resyncSource(ch chan event.GenericEvent, c client.Reader, failed func(string) bool) source.Source {
	return source.Channel(ch, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list corev1.ServiceList
		if err := c.List(ctx, &list); err != nil {
			return nil
		}
		var out []reconcile.Request
		for i := range list.Items {
			s := &list.Items[i]
			if o.GetName() == resyncFailed && !failed(s.Namespace+"/"+s.Name) {
				continue
			}
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
		}
		return out
	}))
}

// namespaceHandler enqueues every Service of a namespace whose labels
// changed, since pools may select Services by namespace labels.
func namespaceHandler(c client.Reader) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list corev1.ServiceList
		if err := c.List(ctx, &list, client.InNamespace(o.GetName())); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetName(), Name: list.Items[i].Name}})
		}
		return out
	})
}

// namespaceLabelsChanged passes only label changes of existing namespaces.
func namespaceLabelsChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !mapsEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
	}
}

// mapsEqual compares two label maps.
func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
