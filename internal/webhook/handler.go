package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/configwatch/crwatch"
	"github.com/pylonlb/pylon/internal/model"
)

// Validator answers admission requests for Pylon's configuration kinds.
// It reads the objects from reader, normally the controller manager's
// cache. A change made a moment ago may not be in it yet: an object applied
// together with the pool it names (one `kubectl apply -f` of both) would
// be refused for an unknown reference. So a refusal is decided again on a
// live read (the live reader, uncached) before it is given; only what is
// still wrong is refused.
type Validator struct {
	reader    client.Reader
	live      client.Reader // nil: refusals are not re-checked
	decoder   admission.Decoder
	namespace string
	log       *slog.Logger
}

var _ admission.Handler = (*Validator)(nil)

// NewValidator builds a validator for the objects in namespace that
// reads from reader and re-checks refusals with live (may be nil). log
// may be nil.
func NewValidator(reader, live client.Reader, scheme *runtime.Scheme, namespace string, log *slog.Logger) *Validator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Validator{reader: reader, live: live, decoder: admission.NewDecoder(scheme), namespace: namespace, log: log}
}

// Handle checks one request. Objects of other namespaces or kinds are
// allowed: Pylon ignores them.
func (v *Validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Namespace != v.namespace || req.Kind.Group != v1beta1.GroupVersion.Group || NewObject(req.Kind.Kind) == nil {
		return admission.Allowed("")
	}
	ch, ok, err := v.change(req)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if !ok {
		return admission.Allowed("")
	}
	in, err := v.input(ctx, v.reader, ch)
	if err != nil {
		v.log.Warn("webhook could not read the configuration", "kind", ch.Kind, "name", ch.Name, "error", err)
		return admission.Errored(http.StatusInternalServerError, err)
	}
	verdict := Decide(in)
	if !verdict.Allowed && v.live != nil {
		if in, err = v.input(ctx, v.live, ch); err != nil {
			v.log.Warn("webhook could not re-read the configuration", "kind", ch.Kind, "name", ch.Name, "error", err)
			return admission.Errored(http.StatusInternalServerError, err)
		}
		verdict = Decide(in)
	}
	v.log.Debug("webhook decision", "operation", ch.Op.String(), "kind", ch.Kind, "name", ch.Name,
		"allowed", verdict.Allowed, "message", verdict.Message)
	return response(verdict)
}

// change decodes the request; ok is false for operations not checked.
func (v *Validator) change(req admission.Request) (Change, bool, error) {
	ch := Change{Kind: req.Kind.Kind, Name: req.Name}
	raw := req.Object
	switch req.Operation {
	case admissionv1.Create:
		ch.Op = Create
	case admissionv1.Update:
		ch.Op = Update
	case admissionv1.Delete:
		ch.Op, raw = Delete, req.OldObject
	default:
		return ch, false, nil
	}
	if len(raw.Raw) == 0 {
		if ch.Op != Delete {
			return ch, false, fmt.Errorf("%s of %s %q: the request holds no object", ch.Op, ch.Kind, ch.Name)
		}
		return ch, true, nil
	}
	obj := NewObject(ch.Kind)
	if err := v.decoder.DecodeRaw(raw, obj); err != nil {
		return ch, false, fmt.Errorf("decode %s %q: %w", ch.Kind, ch.Name, err)
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(req.Namespace)
	}
	if ch.Name == "" {
		ch.Name = obj.GetName()
	}
	ch.Object = obj
	return ch, true, nil
}

// input reads what Decide needs for the change from reader.
func (v *Validator) input(ctx context.Context, reader client.Reader, ch Change) (Input, error) {
	in := Input{Change: ch}
	var err error
	if in.Existing, err = LoadObjects(ctx, reader, v.namespace); err != nil {
		return in, err
	}
	if ch.Op != Delete {
		return in, nil
	}
	ns := &corev1.Namespace{}
	if err := reader.Get(ctx, client.ObjectKey{Name: v.namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
		return in, fmt.Errorf("read namespace %s: %w", v.namespace, err)
	}
	in.NamespaceTerminating = ns.DeletionTimestamp != nil
	if ch.Kind == KindPool {
		var svcs corev1.ServiceList
		if err := reader.List(ctx, &svcs, client.UnsafeDisableDeepCopy); err != nil {
			return in, fmt.Errorf("list Services: %w", err)
		}
		in.Services = svcs.Items
	}
	return in, nil
}

// response turns a verdict into an admission response: 422 Invalid for
// configuration problems, 403 Forbidden for objects in use.
func response(v Verdict) admission.Response {
	if v.Allowed {
		return admission.Allowed("").WithWarnings(v.Warnings...)
	}
	status := metav1.Status{Status: metav1.StatusFailure, Message: v.Message}
	switch v.Reason {
	case Invalid:
		status.Code, status.Reason = http.StatusUnprocessableEntity, metav1.StatusReasonInvalid
		status.Details = &metav1.StatusDetails{}
		for _, p := range v.Problems {
			status.Details.Causes = append(status.Details.Causes, metav1.StatusCause{
				Type: metav1.CauseTypeFieldValueInvalid, Field: p.Field, Message: fmt.Sprintf("%s %q: %s", p.Kind, p.Name, p.Message),
			})
		}
	case InUse:
		status.Code, status.Reason = http.StatusForbidden, metav1.StatusReasonForbidden
	default:
		status.Code, status.Reason = http.StatusBadRequest, metav1.StatusReasonBadRequest
	}
	return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &status}}
}

// LoadObjects lists every configuration object of the namespace, Secrets
// included, as model.From takes them.
func LoadObjects(ctx context.Context, r client.Reader, namespace string) (model.Objects, error) {
	return crwatch.Load(ctx, r, namespace)
}
