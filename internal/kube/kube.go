// Package kube is the speaker's small Kubernetes client: typed REST access
// (create, merge patch, server-side apply, delete) and informers for the
// few kinds Pylon reads and writes, built on client-go's rest and cache
// packages only.
//
// It exists for memory. Importing controller-runtime's client package, or
// client-go's clientset, links the typed clients, informers and scheme
// registrations of every built-in API group; their init code touches most
// of the binary's text, which then stays resident on every node. The
// speaker needs five kinds of built-in objects, so it pays for five.
package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// Object is a Kubernetes object: metadata and a kind. Every
// controller-runtime client.Object is one.
type Object interface {
	metav1.Object
	runtime.Object
}

// Writer writes objects. Client satisfies it; tests may fake it.
type Writer interface {
	// Create creates obj and reads the created object back into it.
	Create(ctx context.Context, obj Object) error
	// MergePatch applies a JSON merge patch to the object named by obj.
	MergePatch(ctx context.Context, obj Object, patch []byte) error
	// Apply writes obj with server-side apply as field manager owner,
	// taking over conflicting fields.
	Apply(ctx context.Context, obj Object, owner string) error
	// Delete deletes the object named by obj.
	Delete(ctx context.Context, obj Object) error
}

// Scheme returns a new scheme with the kinds the speaker reads and writes:
// core (Services, Nodes, Secrets), discovery (EndpointSlices), events, and
// Pylon's.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, discoveryv1.AddToScheme, eventsv1.AddToScheme, v1beta1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	return s, nil
}

// Client reaches the API server for the kinds of its scheme. Built-in
// kinds travel as protobuf, Pylon's as JSON.
type Client struct {
	cfg    *rest.Config
	http   *http.Client
	scheme *runtime.Scheme
	codecs serializer.CodecFactory

	mu      sync.Mutex
	clients map[schema.GroupVersion]*rest.RESTClient
}

// New builds a client from an API configuration and a scheme naming every
// kind it will be asked about. It opens no connection.
func New(cfg *rest.Config, scheme *runtime.Scheme) (*Client, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("build API HTTP client: %w", err)
	}
	return &Client{cfg: cfg, http: hc, scheme: scheme, codecs: serializer.NewCodecFactory(scheme),
		clients: map[schema.GroupVersion]*rest.RESTClient{}}, nil
}

// Scheme returns the client's scheme.
func (c *Client) Scheme() *runtime.Scheme { return c.scheme }

// target returns the REST client of obj's group and version and its
// resource name. Whether a request is namespaced follows the object's
// namespace (set for every kind Pylon uses except Nodes).
func (c *Client) target(obj runtime.Object) (*rest.RESTClient, string, error) {
	gvks, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return nil, "", fmt.Errorf("kind of %T: %w", obj, err)
	}
	gvk := gvks[0]
	rc, err := c.restClient(gvk.GroupVersion())
	if err != nil {
		return nil, "", err
	}
	return rc, Resource(strings.TrimSuffix(gvk.Kind, "List")), nil
}

// restClient returns (building once) the REST client of a group version.
func (c *Client) restClient(gv schema.GroupVersion) (*rest.RESTClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc, ok := c.clients[gv]; ok {
		return rc, nil
	}
	cfg := rest.CopyConfig(c.cfg)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = c.codecs.WithoutConversion()
	cfg.ContentType, cfg.AcceptContentTypes = runtime.ContentTypeJSON, runtime.ContentTypeJSON
	if gv.Group != v1beta1.GroupVersion.Group {
		// Built-in kinds: protobuf is smaller on the wire and cheaper to
		// encode for the API server and to decode for us.
		cfg.ContentType = runtime.ContentTypeProtobuf
		cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	}
	rc, err := rest.RESTClientForConfigAndClient(cfg, c.http)
	if err != nil {
		return nil, fmt.Errorf("REST client for %s: %w", gv, err)
	}
	c.clients[gv] = rc
	return rc, nil
}

// Resource returns the resource name of a kind: its lower-case plural.
func Resource(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "s"):
		return k + "es"
	case strings.HasSuffix(k, "y") && len(k) > 1 && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	default:
		return k + "s"
	}
}

// request starts a request of verb on obj's resource, in its namespace
// when it has one.
func (c *Client) request(obj Object, verb func(*rest.RESTClient) *rest.Request) (*rest.Request, error) {
	rc, res, err := c.target(obj)
	if err != nil {
		return nil, err
	}
	ns := obj.GetNamespace()
	return verb(rc).NamespaceIfScoped(ns, ns != "").Resource(res), nil
}

// Create creates obj and reads the created object back into it.
func (c *Client) Create(ctx context.Context, obj Object) error {
	req, err := c.request(obj, (*rest.RESTClient).Post)
	if err != nil {
		return err
	}
	return req.Body(obj).Do(ctx).Into(obj)
}

// MergePatch applies a JSON merge patch to the object named by obj.
func (c *Client) MergePatch(ctx context.Context, obj Object, patch []byte) error {
	req, err := c.request(obj, func(rc *rest.RESTClient) *rest.Request { return rc.Patch(types.MergePatchType) })
	if err != nil {
		return err
	}
	return req.Name(obj.GetName()).Body(patch).Do(ctx).Error()
}

// Apply writes obj with server-side apply as field manager owner, forcing
// ownership of conflicting fields. obj's kind is filled in if unset.
func (c *Client) Apply(ctx context.Context, obj Object, owner string) error {
	if obj.GetObjectKind().GroupVersionKind().Empty() {
		gvks, _, err := c.scheme.ObjectKinds(obj)
		if err != nil {
			return fmt.Errorf("kind of %T: %w", obj, err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %T for apply: %w", obj, err)
	}
	req, err := c.request(obj, func(rc *rest.RESTClient) *rest.Request { return rc.Patch(types.ApplyPatchType) })
	if err != nil {
		return err
	}
	return req.Name(obj.GetName()).Param("fieldManager", owner).Param("force", "true").Body(body).Do(ctx).Error()
}

// Delete deletes the object named by obj.
func (c *Client) Delete(ctx context.Context, obj Object) error {
	req, err := c.request(obj, (*rest.RESTClient).Delete)
	if err != nil {
		return err
	}
	return req.Name(obj.GetName()).Do(ctx).Error()
}

// ClusterRoleUID reads the UID of the ClusterRole named name.
func (c *Client) ClusterRoleUID(ctx context.Context, name string) (types.UID, error) {
	m, err := c.Metadata(ctx, schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "", name)
	if err != nil {
		return "", err
	}
	return m.UID, nil
}

// Metadata reads the metadata of one object of any resource (namespace ""
// for cluster-scoped ones); the scheme need not know its kind.
func (c *Client) Metadata(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) (*metav1.PartialObjectMetadata, error) {
	rc, err := c.restClient(gvr.GroupVersion())
	if err != nil {
		return nil, err
	}
	b, err := rc.Get().NamespaceIfScoped(namespace, namespace != "").Resource(gvr.Resource).Name(name).
		SetHeader("Accept", runtime.ContentTypeJSON).DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var m metav1.PartialObjectMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", gvr.Resource, name, err)
	}
	return &m, nil
}

// InformerOptions configures Informer.
type InformerOptions struct {
	// Namespace limits the informer to one namespace; "" watches all.
	Namespace string
	// Transform, optional, replaces each object before it is stored
	// (package cachetrim's trims); StripManagedFields is the default.
	Transform cache.TransformFunc
	// Indexers, optional, index the store.
	Indexers cache.Indexers
}

// Informer builds (and does not start) an informer over the objects of
// example's kind.
func (c *Client) Informer(example Object, o InformerOptions) (cache.SharedIndexInformer, error) {
	rc, res, err := c.target(example)
	if err != nil {
		return nil, err
	}
	lw := cache.NewListWatchFromClient(rc, res, o.Namespace, fields.Everything())
	inf := cache.NewSharedIndexInformerWithOptions(lw, example, cache.SharedIndexInformerOptions{
		Indexers: o.Indexers, ObjectDescription: res})
	transform := o.Transform
	if transform == nil {
		transform = StripManagedFields
	}
	if err := inf.SetTransform(transform); err != nil {
		return nil, fmt.Errorf("informer of %s: %w", res, err)
	}
	return inf, nil
}

// StripManagedFields drops the server-side apply bookkeeping, often the
// largest part of a small object's metadata, before it is cached.
func StripManagedFields(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		o.SetManagedFields(nil)
	}
	return obj, nil
}
