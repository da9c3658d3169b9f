package manifests_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/manifests"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/testenv"
)

// samples decodes every sample file except the kustomization.
func samples(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, manifests.SamplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		o, err := manifests.DecodeFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

// TestSamplesKustomization checks that config/samples lists every sample.
func TestSamplesKustomization(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, manifests.SamplesDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, manifests.SamplesDir, "*.yaml"))
	for _, f := range files {
		if name := filepath.Base(f); name != "kustomization.yaml" && !strings.Contains(string(data), "- "+name+"\n") {
			t.Errorf("config/samples/kustomization.yaml does not list %s", name)
		}
	}
}

// TestSamplesAreValid runs the samples through Pylon's configuration model:
// together they must form one valid configuration.
func TestSamplesAreValid(t *testing.T) {
	in := toModel(t, samples(t))
	for i := range in.Secrets { // the API server turns stringData into data
		s := &in.Secrets[i]
		for k, v := range s.StringData {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = []byte(v)
		}
	}
	cfg, err := model.From(in)
	if err != nil {
		t.Fatalf("samples are not a valid configuration: %v", err)
	}
	var pools []string
	for _, p := range cfg.Pools {
		pools = append(pools, p.Name)
	}
	if diff := cmp.Diff([]string{"dual-stack", "lan", "public"}, pools); diff != "" {
		t.Errorf("pools (-want +got):\n%s", diff)
	}
	if len(cfg.Peers) != 1 || cfg.Peers[0].Password != "change-me" {
		t.Errorf("peers = %+v, want tor with its Secret's password", cfg.Peers)
	}
}

// TestSamplesApply applies the samples to a real API server, so the CRDs'
// schemas and CEL rules accept them, and reads them back into the model.
func TestSamplesApply(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := &corev1.Namespace{}
	ns.Name = "pylon-system"
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	objs := samples(t)
	apply(t, "test-samples", objs)
	var stored []*unstructured.Unstructured
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, got)
	}
	if _, err := model.From(toModel(t, stored)); err != nil {
		t.Fatalf("stored samples are not a valid configuration: %v", err)
	}
}

// toModel converts objects into the model's input.
func toModel(t *testing.T, objs []*unstructured.Unstructured) model.Objects {
	t.Helper()
	var in model.Objects
	for _, o := range objs {
		var err error
		switch o.GetKind() {
		case "IPAddressPool":
			in.Pools, err = appendAs(in.Pools, o)
		case "L2Advertisement":
			in.L2Advertisements, err = appendAs(in.L2Advertisements, o)
		case "BGPAdvertisement":
			in.BGPAdvertisements, err = appendAs(in.BGPAdvertisements, o)
		case "BGPPeer":
			in.Peers, err = appendAs(in.Peers, o)
		case "BFDProfile":
			in.BFDProfiles, err = appendAs(in.BFDProfiles, o)
		case "Community":
			in.Communities, err = appendAs(in.Communities, o)
		case "Secret":
			in.Secrets, err = appendAs(in.Secrets, o)
		default:
			t.Fatalf("unexpected sample kind %s", o.GetKind())
		}
		if err != nil {
			t.Fatalf("convert %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	return in
}

// appendAs converts o to T and appends it.
func appendAs[T any](list []T, o *unstructured.Unstructured) ([]T, error) {
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &v); err != nil {
		return nil, err
	}
	return append(list, v), nil
}
