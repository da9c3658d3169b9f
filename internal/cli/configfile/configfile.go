// Package configfile decodes Pylon's configuration objects from files:
// multi-document YAML or JSON, decoded as strictly as the API server does
// with strict field validation, each error naming the file and the
// document. The kubectl plugin's validate command reads its input with it.
package configfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/webhook"
)

// maxDocument bounds one YAML document, as a sanity limit.
const maxDocument = 4 << 20

// Decode reads a multi-document YAML (or JSON) stream of Pylon
// configuration objects. Empty documents are skipped. Any other kind, an
// unknown field or text that is not YAML is an error naming the source
// and the document.
func Decode(source string, r io.Reader) ([]client.Object, error) {
	yr := kyaml.NewYAMLReader(bufio.NewReaderSize(r, 64<<10))
	var out []client.Object
	for n := 1; ; n++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read document %d: %w", source, n, err)
		}
		if len(doc) > maxDocument {
			return nil, fmt.Errorf("%s: document %d is larger than %d bytes", source, n, maxDocument)
		}
		obj, err := decodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, n, err)
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
}

// decodeDocument decodes one document; nil for an empty one.
func decodeDocument(doc []byte) (client.Object, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	var generic any
	if err := yaml.Unmarshal(doc, &generic); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if generic == nil {
		return nil, nil
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, fmt.Errorf("not an object: want a mapping with apiVersion and kind")
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	obj := webhook.NewObject(head.Kind)
	if head.APIVersion != v1beta1.GroupVersion.String() || obj == nil {
		return nil, fmt.Errorf("kind %q of apiVersion %q is not a Pylon configuration object (want %s IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile or Community)",
			head.Kind, head.APIVersion, v1beta1.GroupVersion.String())
	}
	if err := strictDecode(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", head.Kind, err)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s: metadata.name is required", head.Kind)
	}
	return obj, nil
}

// strictDecode decodes a document as the API server does with strict
// field validation: field names are case-sensitive, unknown and duplicate
// fields are errors.
func strictDecode(doc []byte, obj any) error {
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return strict[0]
	}
	return nil
}
