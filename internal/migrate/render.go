package migrate

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Render writes the Pylon objects as a multi-document YAML stream. Each
// document starts with a comment naming the MetalLB object it came from;
// each finding becomes a comment at the top of the spec, marked LOST when
// behaviour is lost and NOTE otherwise. Skipped objects are listed in
// comments first.
func Render(w io.Writer, res *Result) error {
	var buf bytes.Buffer
	for _, f := range res.Skipped {
		fmt.Fprintf(&buf, "# %s\n", commentLine(f))
	}
	for _, c := range res.Objects {
		doc, err := objectYAML(c.Object)
		if err != nil {
			return fmt.Errorf("render %s: %w", c.From, err)
		}
		fmt.Fprintf(&buf, "---\n# From MetalLB %s (%s)\n", c.From, c.From.APIVersion)
		buf.WriteString(withComments(doc, c.Findings))
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// objectYAML renders an object without server-set fields or status.
func objectYAML(obj runtime.Object) (string, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return "", err
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		m["spec"] = map[string]any{}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// withComments puts one comment line per finding right below "spec:" (or
// above "spec: {}").
func withComments(doc string, findings []Finding) string {
	if len(findings) == 0 {
		return doc
	}
	var b strings.Builder
	for _, f := range findings {
		fmt.Fprintf(&b, "  # %s\n", commentLine(f))
	}
	lines := strings.SplitAfter(doc, "\n")
	for i, l := range lines {
		switch strings.TrimRight(l, "\n") {
		case "spec:":
			return strings.Join(lines[:i+1], "") + b.String() + strings.Join(lines[i+1:], "")
		case "spec: {}":
			return strings.Join(lines[:i], "") + "spec:\n" + b.String() + "  {}\n" + strings.Join(lines[i+1:], "")
		}
	}
	return strings.ReplaceAll(b.String(), "  # ", "# ") + doc
}

// commentLine renders a finding for a comment: one line, marked.
func commentLine(f Finding) string {
	mark := "NOTE"
	if f.Loss {
		mark = "LOST"
	}
	s := f.Field
	if s == "" {
		s = f.Object.String()
	}
	if f.Value != "" {
		s += " = " + f.Value
	}
	return strings.ReplaceAll(mark+" "+s+": "+f.Message, "\n", " ")
}
