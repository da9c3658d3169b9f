package cmdutil

import (
	"os"

	clientfeatures "k8s.io/client-go/features"
)

// watchListEnv is client-go's own switch for its WatchListClient feature.
const watchListEnv = "KUBE_FEATURE_WatchListClient"

// ListThenWatch makes client-go's informers list, then watch, instead of
// streaming the initial list over the watch (WatchListClient, on by
// default since client-go 1.35), unless KUBE_FEATURE_WatchListClient is set.
// A streamed list ends with a bookmark that the API server's watch cache
// sends on a one-second timer: in the lab, two of three speakers starting
// together waited 1.1 s for their informers instead of 0.1 s. Call it first
// in main, before any client exists.
func ListThenWatch() {
	if _, set := os.LookupEnv(watchListEnv); set {
		return
	}
	clientfeatures.ReplaceFeatureGates(listThenWatch{clientfeatures.FeatureGates()})
}

// listThenWatch turns WatchListClient off and leaves the other gates alone.
type listThenWatch struct{ base clientfeatures.Gates }

func (g listThenWatch) Enabled(f clientfeatures.Feature) bool {
	if f == clientfeatures.WatchListClient {
		return false
	}
	return g.base.Enabled(f)
}
