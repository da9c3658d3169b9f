package controller

import (
	"context"
	"fmt"
	"log/slog"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/pylonlb/pylon/internal/anchor"
)

// LeaseName is the leader election lease of the controller replicas.
const LeaseName = "pylon-controller"

// leaseOwner, once this replica leads, makes the installation own the
// leader lease (controller-runtime creates it without an owner), so that
// uninstalling Pylon removes it.
type leaseOwner struct {
	reader    client.Reader
	writer    client.Writer
	namespace string
	anchor    *anchor.Resolver
	log       *slog.Logger
}

var _ manager.LeaderElectionRunnable = (*leaseOwner)(nil)

// NeedLeaderElection is true: only the holder touches the lease.
func (l *leaseOwner) NeedLeaderElection() bool { return true }

// Start sets the owner once and returns. A failure is logged, never
// returned: it must not stop the manager.
func (l *leaseOwner) Start(ctx context.Context) error {
	if err := l.own(ctx); err != nil {
		l.log.Warn("set the owner of the leader lease (uninstalling will leave it behind)", "error", err)
	}
	return nil
}

func (l *leaseOwner) own(ctx context.Context) error {
	// The elector renews the lease every few seconds: retry on conflicts,
	// reading it again each time.
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		lease := &coordinationv1.Lease{}
		if err := l.reader.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: LeaseName}, lease); err != nil {
			return fmt.Errorf("read lease %s/%s: %w", l.namespace, LeaseName, err)
		}
		if len(lease.OwnerReferences) > 0 {
			return nil
		}
		if err := l.anchor.Own(ctx, lease); err != nil || len(lease.OwnerReferences) == 0 {
			return err
		}
		if err := l.writer.Update(ctx, lease); err != nil {
			return fmt.Errorf("set the owner of lease %s/%s: %w", l.namespace, LeaseName, err)
		}
		return nil
	})
}
