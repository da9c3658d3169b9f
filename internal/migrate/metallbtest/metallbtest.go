// Package metallbtest installs stand-ins for MetalLB's CustomResource
// Definitions (group metallb.io) on a test API server, so that MetalLB's
// objects can be created and read back as MetalLB's users have them. The
// stand-ins are Pylon's own: they serve the kinds and versions with an
// open schema, without MetalLB's validation or conversion webhook.
package metallbtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/migrate"
)

// CRDs returns the stand-in definitions, one per kind Convert reads.
func CRDs() []*apiextensionsv1.CustomResourceDefinition {
	open := true
	validation := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object", XPreserveUnknownFields: &open}}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, kind := range migrate.Kinds {
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: migrate.Resources[kind] + "." + migrate.Group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: migrate.Group,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List",
					Plural: migrate.Resources[kind], Singular: strings.ToLower(kind)},
				Scope: apiextensionsv1.NamespaceScoped,
			},
		}
		for i, v := range migrate.Versions(kind) {
			crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
				Name: v, Served: true, Storage: i == 0, Schema: validation})
		}
		out = append(out, crd)
	}
	return out
}

// Install creates the definitions and waits until they are served.
func Install(ctx context.Context, cfg *rest.Config) error {
	sch := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(sch); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	for _, crd := range CRDs() {
		if err := c.Create(ctx, crd); err != nil {
			return fmt.Errorf("create CRD %s: %w", crd.Name, err)
		}
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var got apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKeyFromObject(crd), &got); err != nil {
				return false, nil
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("wait for CRD %s: %w", crd.Name, err)
		}
	}
	return nil
}

// Create creates every object of a multi-document YAML text (MetalLB's
// objects, as Parse reads them) in namespace ns.
func Create(ctx context.Context, cfg *rest.Config, ns, text string) error {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	r := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	for {
		var u unstructured.Unstructured
		if err := r.Decode(&u.Object); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if u.Object == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		gvr := gv.WithResource(migrate.Resources[u.GetKind()])
		if _, err := dc.Resource(gvr).Namespace(ns).Create(ctx, &u, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
}
