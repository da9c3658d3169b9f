package bench

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sampleMetrics = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="services",scope="resource",subresource="",verb="POST",version="v1"} 1000
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="services",scope="resource",subresource="status",verb="PATCH",version="v1"} 998
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="services",scope="resource",subresource="status",verb="PATCH",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="services",scope="namespace",subresource="",verb="LIST",version="v1"} 7
apiserver_request_total{code="201",component="apiserver",dry_run="",group="events.k8s.io",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 2.213e+03
apiserver_request_total{code="200",component="apiserver",group="x",resource="we\"ird\\name",subresource="",verb="APPLY",version="v1"} 1
apiserver_request_duration_seconds_bucket{le="0.1",resource="services",verb="POST"} 5
`

func TestParseAPIWrites(t *testing.T) {
	got, err := ParseAPIWrites([]byte(sampleMetrics))
	if err != nil {
		t.Fatal(err)
	}
	want := APIWrites{"services": 1000, "services/status": 1000, "events": 2213, `we"ird\name`: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.Total() != 4214 {
		t.Errorf("Total = %v", got.Total())
	}
	d := got.Sub(APIWrites{"services": 1000, "events": 13})
	if diff := cmp.Diff(APIWrites{"services/status": 1000, "events": 2200, `we"ird\name`: 1}, d); diff != "" {
		t.Errorf("Sub (-want +got):\n%s", diff)
	}
	if s := d.Top(2, 1000); s != "events 2.20, services/status 1.00" {
		t.Errorf("Top = %q", s)
	}
}

func TestParseAPIWritesErrors(t *testing.T) {
	for _, in := range []string{
		`apiserver_request_total{verb="POST"`,
		`apiserver_request_total{verb="POST} 1`,
		`apiserver_request_total{verb} 1`,
		`apiserver_request_total{verb="POST"} x`,
		`apiserver_request_total{verb="POST\`,
	} {
		if _, err := ParseAPIWrites([]byte(in)); err == nil {
			t.Errorf("ParseAPIWrites(%q) accepted", in)
		}
	}
}

func FuzzParseAPIWrites(f *testing.F) {
	f.Add(sampleMetrics)
	f.Add(`apiserver_request_total{a="\n",verb="PUT",resource="r"} 3`)
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseAPIWrites([]byte(s))
		if err != nil {
			return
		}
		_ = w.Top(3, 1)
		_ = w.Sub(w)
	})
}
