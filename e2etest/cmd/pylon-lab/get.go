package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// resourceAliases are names a lab user may type that the API does not know.
var resourceAliases = map[string]string{
	"pools": "ipaddresspools", "pool": "ipaddresspools",
	"peers": "bgppeers", "peer": "bgppeers",
	"l2statuses": "servicel2statuses", "bgpstatuses": "servicebgpstatuses",
}

type getFlags struct {
	id, namespace, output string
	resource, name        string
}

// get lists API objects of a running lab as `kubectl get` would, using the
// API server's table output (so Pylon's CRDs show their print columns),
// or prints them as YAML or JSON.
func get(args []string) int {
	f, err := parseGet(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab get:", err)
		fmt.Fprintln(os.Stderr, "usage: pylon-lab get [--id ID] [-n NAMESPACE] [-o wide|yaml|json] RESOURCE [NAME]")
		return 2
	}
	info, err := findLab(f.id)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab get:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runGet(ctx, os.Stdout, filepath.Join(info.Dir, "admin.kubeconfig"), f); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab get:", err)
		return 1
	}
	return 0
}

func parseGet(args []string) (getFlags, error) {
	var f getFlags
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.StringVar(&f.id, "id", "", "lab id (default: the only lab started by pylon-lab up)")
	fs.StringVar(&f.namespace, "n", "", "namespace (default: all namespaces)")
	fs.StringVar(&f.output, "o", "", "output: wide, yaml or json (default: a table)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return f, err
	}
	switch {
	case len(pos) < 1 || len(pos) > 2:
		return f, fmt.Errorf("want RESOURCE [NAME], got %q", pos)
	case f.output != "" && f.output != "wide" && f.output != "yaml" && f.output != "json":
		return f, fmt.Errorf("unknown output %q", f.output)
	}
	f.resource = pos[0]
	if len(pos) == 2 {
		f.name = pos[1]
	}
	if a, ok := resourceAliases[strings.ToLower(f.resource)]; ok {
		f.resource = a
	}
	return f, nil
}

func runGet(ctx context.Context, w io.Writer, kubeconfig string, f getFlags) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	gvr, namespaced, err := resolveResource(cfg, f.resource)
	if err != nil {
		return err
	}
	if f.name != "" && namespaced && f.namespace == "" {
		return fmt.Errorf("%s is namespaced: give the namespace of %s with -n", gvr.Resource, f.name)
	}
	path := resourcePath(gvr, namespaced, f.namespace, f.name)
	table := f.output == "" || f.output == "wide"
	body, err := apiGet(ctx, cfg, path, table)
	if err != nil {
		return err
	}
	switch f.output {
	case "json":
		_, err = w.Write(body)
		return err
	case "yaml":
		y, err := yaml.JSONToYAML(body)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	var t metav1.Table
	if err := json.Unmarshal(body, &t); err != nil {
		return fmt.Errorf("decode table: %w", err)
	}
	return printTable(w, &t, tableOptions{wide: f.output == "wide", namespaceColumn: namespaced && f.namespace == "" && f.name == "", now: time.Now()})
}

// resolveResource maps what the user typed (plural, singular, short name)
// to a resource through discovery.
func resolveResource(cfg *rest.Config, typed string) (schema.GroupVersionResource, bool, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	mapper := restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), disc, nil)
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(typed).WithVersion(""))
	if err != nil {
		return gvr, false, fmt.Errorf("resource %q: %w", typed, err)
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		return gvr, false, err
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return gvr, false, err
	}
	return gvr, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// resourcePath is the API path of a resource, in a namespace when given,
// of one object when name is given. It is pure.
func resourcePath(gvr schema.GroupVersionResource, namespaced bool, namespace, name string) string {
	parts := []string{"/apis", gvr.Group, gvr.Version}
	if gvr.Group == "" {
		parts = []string{"/api", gvr.Version}
	}
	if namespaced && namespace != "" {
		parts = append(parts, "namespaces", url.PathEscape(namespace))
	}
	parts = append(parts, gvr.Resource)
	if name != "" {
		parts = append(parts, url.PathEscape(name))
	}
	return strings.Join(parts, "/")
}

// apiGet GETs path, as a server-side table (with object metadata) when
// table is set.
func apiGet(ctx context.Context, cfg *rest.Config, path string, table bool) ([]byte, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	u := strings.TrimSuffix(cfg.Host, "/") + path
	if table {
		u += "?includeObject=Metadata"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if table {
		req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var st metav1.Status
		if json.Unmarshal(body, &st) == nil && st.Message != "" {
			return nil, fmt.Errorf("GET %s: %s", path, st.Message)
		}
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

type tableOptions struct {
	wide            bool // also the columns with priority > 0
	namespaceColumn bool // prepend each row's namespace
	now             time.Time
}

// printTable prints a server-side table as kubectl does: upper-case
// headers, dates as ages. It is pure but for writing to w.
func printTable(w io.Writer, t *metav1.Table, o tableOptions) error {
	if len(t.Rows) == 0 {
		_, err := fmt.Fprintln(w, "No resources found.")
		return err
	}
	var cols []int
	for i, c := range t.ColumnDefinitions {
		if o.wide || c.Priority == 0 {
			cols = append(cols, i)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	var head []string
	if o.namespaceColumn {
		head = append(head, "NAMESPACE")
	}
	for _, i := range cols {
		head = append(head, strings.ToUpper(t.ColumnDefinitions[i].Name))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range t.Rows {
		var cells []string
		if o.namespaceColumn {
			cells = append(cells, rowNamespace(r))
		}
		for _, i := range cols {
			cells = append(cells, cellText(t.ColumnDefinitions[i], r.Cells, i, o.now))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func rowNamespace(r metav1.TableRow) string {
	var m metav1.PartialObjectMetadata
	if len(r.Object.Raw) == 0 || json.Unmarshal(r.Object.Raw, &m) != nil {
		return ""
	}
	return m.Namespace
}

func cellText(def metav1.TableColumnDefinition, cells []any, i int, now time.Time) string {
	if i >= len(cells) || cells[i] == nil {
		return "<none>"
	}
	v := cells[i]
	if s, ok := v.(string); ok && def.Type == "date" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return duration.HumanDuration(now.Sub(t))
		}
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return "<none>"
		}
		return x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, ",")
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}
