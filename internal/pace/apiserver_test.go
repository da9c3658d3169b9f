package pace_test

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/pace"
	"github.com/pylonlb/pylon/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// TestRecorderAgainstAPIServer checks that the API server accepts what the
// recorder writes: new events, series patches, long notes and events about
// cluster-scoped objects, through the speaker's client (package kube).
func TestRecorderAgainstAPIServer(t *testing.T) {
	testenv.Require(t, env)
	ns := testenv.Namespace(t, env, "pace", nil)
	scheme, err := kube.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kube.New(env.Config, scheme) // the speaker's client
	if err != nil {
		t.Fatal(err)
	}
	r := pace.NewRecorder(kc, scheme, pace.RecorderOptions{
		Controller: "pylon-test", Instance: "pylon-test-" + ns, Component: "test"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", UID: "0f0e"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + ns}}
	for range 3 {
		r.Eventf(svc, nil, corev1.EventTypeWarning, "AllocationFailed", "Allocate", "no address left in pool %q", "default")
	}
	r.Eventf(svc, node, corev1.EventTypeNormal, "L2Announced", "Announce", "%s", strings.Repeat("€", 1000))
	r.Eventf(node, nil, corev1.EventTypeNormal, "NodeSeen", "Observe", "node joined")

	testenv.Eventually(t, func() (bool, string) {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var series, long bool
		for _, e := range list.Items {
			series = series || (e.Reason == "AllocationFailed" && e.Series != nil && e.Series.Count == 3)
			long = long || (e.Reason == "L2Announced" && len(e.Note) == 1023 && e.Related != nil && e.Related.Kind == "Node")
		}
		if !series || !long || len(list.Items) != 2 {
			return false, "want 2 events in the Service's namespace: a series of 3 and one with a 1,023-byte note about a node"
		}
		var def eventsv1.EventList
		if err := env.Client.List(ctx, &def, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return false, err.Error()
		}
		for _, e := range def.Items {
			if e.Regarding.Name == node.Name && e.Regarding.Kind == "Node" {
				return true, ""
			}
		}
		return false, "no event about the node in namespace default"
	})
}
