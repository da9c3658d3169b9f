package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pylonlb/pylon/api/v1beta1"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// request builds an admission request for obj (nil: none).
func request(t *testing.T, op admissionv1.Operation, kind, namespace, name string, obj client.Object) admission.Request {
	t.Helper()
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: op, Namespace: namespace, Name: name,
		Kind: metav1.GroupVersionKind{Group: v1beta1.GroupVersion.Group, Version: "v1beta1", Kind: kind},
	}}
	if obj != nil {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if op == admissionv1.Delete {
			req.OldObject.Raw = raw
		} else {
			req.Object.Raw = raw
		}
	}
	return req
}

func TestHandle(t *testing.T) {
	s := testScheme(t)
	svc := lbService("app", "web", "192.0.2.10", nil)
	objs := []client.Object{pool("a", "192.0.2.0/25"), bfd("fast"), peer("tor", "fast", 0), &svc,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}}
	failList := false
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			if failList {
				return errors.New("cache not synced")
			}
			return c.List(ctx, l, opts...)
		},
	}).Build()
	v := NewValidator(c, nil, s, ns, nil)
	type result struct {
		Allowed bool
		Code    int32
		Causes  int
	}
	tests := []struct {
		name     string
		req      admission.Request
		failList bool
		want     result
	}{
		{"other namespace", request(t, admissionv1.Create, KindPool, "default", "b", pool("b", "192.0.2.0/25")), false, result{Allowed: true, Code: http.StatusOK}},
		{"other kind", request(t, admissionv1.Create, "ServiceL2Status", ns, "x", nil), false, result{Allowed: true, Code: http.StatusOK}},
		{"valid create", request(t, admissionv1.Create, KindPool, ns, "b", pool("b", "192.0.2.128/25")), false, result{Allowed: true, Code: http.StatusOK}},
		{"overlapping create", request(t, admissionv1.Create, KindPool, ns, "b", pool("b", "192.0.2.0/26")), false, result{Code: http.StatusUnprocessableEntity, Causes: 1}},
		{"delete in use", request(t, admissionv1.Delete, KindPool, ns, "a", pool("a", "192.0.2.0/25")), false, result{Code: http.StatusForbidden}},
		{"delete in use without old object", request(t, admissionv1.Delete, KindBFD, ns, "fast", nil), false, result{Code: http.StatusForbidden}},
		{"connect is not checked", request(t, admissionv1.Connect, KindPool, ns, "a", nil), false, result{Allowed: true, Code: http.StatusOK}},
		{"create without object", request(t, admissionv1.Create, KindPool, ns, "b", nil), false, result{Code: http.StatusBadRequest}},
		{"cache failure refuses", request(t, admissionv1.Create, KindPool, ns, "b", pool("b", "192.0.2.128/25")), true, result{Code: http.StatusInternalServerError}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failList = tc.failList
			resp := v.Handle(context.Background(), tc.req)
			got := result{Allowed: resp.Allowed, Code: http.StatusOK}
			if resp.Result != nil && resp.Result.Code != 0 {
				got.Code = resp.Result.Code
			}
			if resp.Result != nil && resp.Result.Details != nil {
				got.Causes = len(resp.Result.Details.Causes)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s\nresult: %+v", diff, resp.Result)
			}
		})
	}
}

// TestHandleRechecksRefusalsLive: an advertisement naming a pool created a
// moment ago (one kubectl apply of both) is allowed although the cache
// does not hold the pool yet; a pool that exists nowhere is still refused.
func TestHandleRechecksRefusalsLive(t *testing.T) {
	s := testScheme(t)
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	stale := fake.NewClientBuilder().WithScheme(s).WithObjects(nsObj).Build()
	live := fake.NewClientBuilder().WithScheme(s).WithObjects(nsObj, pool("lan", "192.0.2.0/25")).Build()
	adv := func(pool string) *v1beta1.L2Advertisement {
		return &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan", Namespace: ns},
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{pool}}}
	}
	v := NewValidator(stale, live, s, ns, nil)
	if resp := v.Handle(context.Background(), request(t, admissionv1.Create, KindL2, ns, "lan", adv("lan"))); !resp.Allowed {
		t.Errorf("advertisement of a pool the cache does not hold yet refused: %+v", resp.Result)
	}
	if resp := v.Handle(context.Background(), request(t, admissionv1.Create, KindL2, ns, "lan", adv("nope"))); resp.Allowed {
		t.Error("advertisement of a pool that exists nowhere allowed")
	}
	if resp := NewValidator(stale, nil, s, ns, nil).Handle(context.Background(), request(t, admissionv1.Create, KindL2, ns, "lan", adv("lan"))); resp.Allowed {
		t.Error("without a live reader the stale cache decided otherwise: the test proves nothing")
	}
}

func TestHandleMalformedObject(t *testing.T) {
	s := testScheme(t)
	v := NewValidator(fake.NewClientBuilder().WithScheme(s).Build(), nil, s, ns, nil)
	req := request(t, admissionv1.Create, KindPool, ns, "b", nil)
	req.Object.Raw = []byte(`{"spec": {"addresses": 7}}`)
	if resp := v.Handle(context.Background(), req); resp.Allowed || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("malformed object: allowed %t, result %+v", resp.Allowed, resp.Result)
	}
}
