package migrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ErrUnknownKind marks an object that is not one of the MetalLB kinds and
// versions Convert reads.
var ErrUnknownKind = errors.New("unknown kind")

// maxDocument bounds one YAML document, as kubectl does.
const maxDocument = 5 << 20

// Parse decodes a stream of YAML documents (or JSON objects) holding
// MetalLB objects; a document may also be a List with items, as `kubectl
// get -o yaml` prints. Empty documents are skipped. Any document that is
// not an object, or an object of another kind, is an error naming the
// document; errors for unknown kinds wrap ErrUnknownKind.
func Parse(data []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(data), 4096))
	var out []Object
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if len(doc) > maxDocument {
			return nil, fmt.Errorf("document %d: larger than %d bytes", n, maxDocument)
		}
		objs, err := parseDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		out = append(out, objs...)
	}
}

// parseDocument decodes one document: nothing, an object or a List.
func parseDocument(doc []byte) ([]Object, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object but %s", typeName(v))
	}
	if kind, _ := m["kind"].(string); kind == "List" || strings.HasSuffix(kind, "List") && m["items"] != nil {
		return parseList(m)
	}
	o, err := objectFrom(m)
	if err != nil {
		return nil, err
	}
	return []Object{o}, nil
}

// parseList decodes a List's items.
func parseList(m map[string]any) ([]Object, error) {
	items, ok := m["items"].([]any)
	if !ok && m["items"] != nil {
		return nil, fmt.Errorf("items: want a list, got %s", typeName(m["items"]))
	}
	out := make([]Object, 0, len(items))
	for i, it := range items {
		im, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("items[%d]: not an object but %s", i, typeName(it))
		}
		o, err := objectFrom(im)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// objectFrom reads the fields Convert uses from a decoded object.
func objectFrom(m map[string]any) (Object, error) {
	var o Object
	var err error
	if o.APIVersion, err = stringField(m, "apiVersion"); err != nil {
		return o, err
	}
	if o.Kind, err = stringField(m, "kind"); err != nil {
		return o, err
	}
	meta, ok := m["metadata"].(map[string]any)
	if !ok && m["metadata"] != nil {
		return o, fmt.Errorf("metadata: want an object, got %s", typeName(m["metadata"]))
	}
	if o.Name, err = stringField(meta, "name"); err != nil {
		return o, fmt.Errorf("metadata.%w", err)
	}
	if o.Namespace, err = stringField(meta, "namespace"); err != nil {
		return o, fmt.Errorf("metadata.%w", err)
	}
	if o.Labels, err = stringMap(meta["labels"]); err != nil {
		return o, fmt.Errorf("metadata.labels: %w", err)
	}
	if err := checkKind(o); err != nil {
		return o, err
	}
	switch spec := m["spec"].(type) {
	case nil:
	case map[string]any:
		o.Spec = spec
	default:
		return o, fmt.Errorf("%s: spec: want an object, got %s", o.Ref(), typeName(spec))
	}
	return o, nil
}

// stringField reads an optional string field of a map (nil map: "").
func stringField(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: want a string, got %s", key, typeName(v))
	}
}

// stringMap reads a map of strings, such as labels.
func stringMap(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object, got %s", typeName(v))
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s: want a string, got %s", k, typeName(x))
		}
		out[k] = s
	}
	return out, nil
}

// typeName names a decoded JSON value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int32, int64, uint32, uint64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// toInt64 reads a whole number from a decoded value: json.Number from
// Parse, int64 or float64 from API reads.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}
