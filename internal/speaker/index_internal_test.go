package speaker

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEndpointSliceService(t *testing.T) {
	for _, c := range []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{discoveryv1.LabelServiceName: "web"}, []string{"shop/web"}},
		{map[string]string{"app": "web"}, nil},
		{nil, nil},
	} {
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "x", Labels: c.labels}}
		got, err := endpointSliceService(es)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("labels %v (-want +got):\n%s", c.labels, d)
		}
	}
}
