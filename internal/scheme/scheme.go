// Package scheme builds the scheme of the controller and the tests:
// every Kubernetes built-in kind and Pylon's. The speaker uses the smaller
// kube.Scheme and must not import this package, whose dependency on
// client-go's scheme registers every built-in API group at start-up.
package scheme

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// All returns a new scheme with the Kubernetes built-in kinds and Pylon's
// kinds.
func All() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add built-in kinds to scheme: %w", err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add pylonlb.io kinds to scheme: %w", err)
	}
	return s, nil
}
