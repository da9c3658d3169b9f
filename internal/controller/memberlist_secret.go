package controller

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/anchor"
)

// Memberlist secret: the speakers encrypt their gossip with a key read from
// this Secret. The controller creates it with a random key when it is
// missing, so a fresh install needs no manual step.
const (
	MemberlistSecretName = "pylon-memberlist"
	MemberlistSecretKey  = "key"
)

// ensureMemberlistSecret creates the gossip key Secret if it does not
// exist, owned by the installation (uninstalling removes it; a Secret the
// operator made stays theirs). An existing Secret is never changed: rotating the key is the
// operator's decision.
func ensureMemberlistSecret(ctx context.Context, reader client.Reader, writer client.Writer, namespace string, owner *anchor.Resolver) error {
	existing := &corev1.Secret{}
	err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: MemberlistSecretName}, existing)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("read Secret %s/%s: %w", namespace, MemberlistSecretName, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("generate gossip key: %w", err)
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: MemberlistSecretName, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "pylon"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{MemberlistSecretKey: []byte(base64.StdEncoding.EncodeToString(raw))},
	}
	if err := owner.Own(ctx, s); err != nil {
		return fmt.Errorf("create Secret %s/%s: %w", namespace, MemberlistSecretName, err)
	}
	if err := writer.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Secret %s/%s: %w", namespace, MemberlistSecretName, err)
	}
	return nil
}
