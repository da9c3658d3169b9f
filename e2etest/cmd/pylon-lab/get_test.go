package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestResourcePath(t *testing.T) {
	svc := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	pools := schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "ipaddresspools"}
	nodes := schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	for _, tc := range []struct {
		gvr        schema.GroupVersionResource
		namespaced bool
		ns, name   string
		want       string
	}{
		{svc, true, "", "", "/api/v1/services"},
		{svc, true, "demo", "", "/api/v1/namespaces/demo/services"},
		{svc, true, "demo", "demo-l2", "/api/v1/namespaces/demo/services/demo-l2"},
		{pools, true, "pylon-system", "", "/apis/pylonlb.io/v1beta1/namespaces/pylon-system/ipaddresspools"},
		{nodes, false, "ignored", "node1", "/api/v1/nodes/node1"},
		{svc, true, "a/b", "c d", "/api/v1/namespaces/a%2Fb/services/c%20d"},
	} {
		if got := resourcePath(tc.gvr, tc.namespaced, tc.ns, tc.name); got != tc.want {
			t.Errorf("resourcePath(%v, %v, %q, %q) = %q, want %q", tc.gvr, tc.namespaced, tc.ns, tc.name, got, tc.want)
		}
	}
}

func TestParseGet(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    getFlags
		wantErr bool
	}{
		{[]string{"svc"}, getFlags{resource: "svc"}, false},
		{[]string{"pools", "-o", "yaml"}, getFlags{resource: "ipaddresspools", output: "yaml"}, false},
		{[]string{"-n", "demo", "svc", "demo-l2", "--id", "1a2b"}, getFlags{id: "1a2b", namespace: "demo", resource: "svc", name: "demo-l2"}, false},
		{[]string{"peers"}, getFlags{resource: "bgppeers"}, false},
		{nil, getFlags{}, true},
		{[]string{"a", "b", "c"}, getFlags{}, true},
		{[]string{"svc", "-o", "table"}, getFlags{}, true},
	} {
		got, err := parseGet(tc.args)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseGet(%q) error %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(getFlags{})); diff != "" {
				t.Errorf("parseGet(%q) (-want +got):\n%s", tc.args, diff)
			}
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	id := fs.String("id", "", "")
	pos, err := parseInterspersed(fs, []string{"node2", "--id", "7f", "--", "-x"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"node2", "-x"}, pos); diff != "" || *id != "7f" {
		t.Errorf("positional (-want +got):\n%s; id %q", diff, *id)
	}
}

func TestPrintTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	meta := func(ns string) runtime.RawExtension {
		b, _ := json.Marshal(metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns}})
		return runtime.RawExtension{Raw: b}
	}
	table := &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string"},
			{Name: "External-IP", Type: "string"},
			{Name: "Selector", Type: "string", Priority: 1},
			{Name: "Age", Type: "date"},
			{Name: "IPs", Type: "string"},
		},
		Rows: []metav1.TableRow{
			{Cells: []any{"demo-l2", "192.168.77.128", "app=x", now.Add(-90 * time.Second).Format(time.RFC3339), []any{"a", "b"}}, Object: meta("demo")},
			{Cells: []any{"kubernetes", "", nil, "not a date"}, Object: meta("default")},
		},
	}
	var b bytes.Buffer
	if err := printTable(&b, table, tableOptions{namespaceColumn: true, now: now}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAMESPACE   NAME         EXTERNAL-IP      AGE          IPS\n" +
		"demo        demo-l2      192.168.77.128   90s          a,b\n" +
		"default     kubernetes   <none>           not a date   <none>\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b.Reset()
	if err := printTable(&b, table, tableOptions{wide: true, now: now}); err != nil {
		t.Fatal(err)
	}
	if want := "NAME         EXTERNAL-IP      SELECTOR   AGE          IPS\n"; b.String()[:len(want)] != want {
		t.Errorf("wide header = %q", b.String())
	}
	b.Reset()
	_ = printTable(&b, &metav1.Table{}, tableOptions{})
	if b.String() != "No resources found.\n" {
		t.Errorf("empty table printed %q", b.String())
	}
}
