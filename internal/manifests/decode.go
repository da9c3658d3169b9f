package manifests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ErrNoKind is returned for a YAML document without apiVersion or kind.
var ErrNoKind = errors.New("document has no apiVersion or kind")

// Decode splits multi-document YAML into objects, in order. Empty
// documents (comments only, or "---" separators) are skipped.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read YAML document %d: %w", i, err)
		}
		obj, err := decodeDoc(doc)
		if err != nil {
			return nil, fmt.Errorf("YAML document %d: %w", i, err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
}

// DecodeFile decodes the multi-document YAML file at path.
func DecodeFile(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	objs, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return objs, nil
}

// decodeDoc decodes one document; it returns nil for an empty one.
// Integers become int64, as in objects read from the API server.
func decodeDoc(doc []byte) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return nil, nil
	}
	var head map[string]any // keys match exactly, unlike struct fields
	if err := json.Unmarshal(j, &head); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	for _, k := range []string{"apiVersion", "kind"} {
		if s, ok := head[k].(string); !ok || s == "" {
			return nil, ErrNoKind
		}
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	return obj, nil
}
