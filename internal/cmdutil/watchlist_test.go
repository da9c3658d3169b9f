package cmdutil

import (
	"testing"

	clientfeatures "k8s.io/client-go/features"
)

func TestListThenWatch(t *testing.T) {
	base := clientfeatures.FeatureGates()
	g := listThenWatch{base}
	if g.Enabled(clientfeatures.WatchListClient) {
		t.Error("WatchListClient enabled")
	}
	if got, want := g.Enabled(clientfeatures.InformerResourceVersion), base.Enabled(clientfeatures.InformerResourceVersion); got != want {
		t.Errorf("InformerResourceVersion = %t, want the default %t", got, want)
	}
}
