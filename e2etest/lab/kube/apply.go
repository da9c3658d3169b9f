package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// ManifestFiles lists the *.yaml and *.yml files of each directory, sorted
// by name, directories in the order given. Missing directories are skipped
// (the manifests may not exist yet); kustomization files are not manifests.
func ManifestFiles(dirs ...string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list manifests: %w", err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, "kustomization.") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	return out, nil
}

// SplitYAML decodes a multi-document YAML (or JSON) stream into objects,
// skipping empty documents. It is pure.
func SplitYAML(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read YAML document %d: %w", i, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("decode YAML document %d: %w", i, err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("decode YAML document %d: %w", i, err)
		}
		out = append(out, u)
	}
}

// ApplyFiles server-side applies every document of the files in order
// (see [Client.ApplyYAML]).
func (c *Client) ApplyFiles(ctx context.Context, defaultNS string, paths ...string) error {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		if err := c.ApplyYAML(ctx, defaultNS, b); err != nil {
			return fmt.Errorf("apply %s: %w", p, err)
		}
	}
	return nil
}

// ApplyYAML server-side applies (forcing conflicts) every object of a YAML
// stream. Namespaced objects without a namespace go to defaultNS. After a
// CustomResourceDefinition it waits until the CRD is Established, so later
// documents may use the new kind.
func (c *Client) ApplyYAML(ctx context.Context, defaultNS string, data []byte) error {
	objs, err := SplitYAML(data)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := c.Apply(ctx, defaultNS, o); err != nil {
			return err
		}
	}
	return nil
}

// Apply server-side applies one object.
func (c *Client) Apply(ctx context.Context, defaultNS string, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := c.mapping(gvk)
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	js, err := obj.MarshalJSON()
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	res := c.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = defaultNS
		}
		_, err = res.Namespace(ns).Patch(ctx, obj.GetName(), types.ApplyPatchType, js, opts)
	} else {
		_, err = res.Patch(ctx, obj.GetName(), types.ApplyPatchType, js, opts)
	}
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	if mapping.Resource == crdGVR {
		return c.waitEstablished(ctx, obj.GetName())
	}
	return nil
}

// mapping finds the resource for gvk, refreshing discovery once for kinds
// that appeared since the last lookup (new CRDs).
func (c *Client) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

func (c *Client) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := wait.Until(ctx, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		u, err := c.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, cd := range conds {
			m, _ := cd.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for CRD %s to be established: %w", name, err)
	}
	c.mapper.Reset()
	return nil
}
