package topo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// Build creates the topology's namespaces, interfaces, addresses and
// routes. On failure it removes what it made.
func Build(ctx context.Context, t *Topology) (err error) {
	s := t.Script()
	defer func() {
		if err != nil {
			err = errors.Join(err, Destroy(context.WithoutCancel(ctx), t))
		}
	}()
	for _, ns := range s.Namespaces {
		if ns.Exists() {
			return fmt.Errorf("build topology: namespace %s already exists", ns)
		}
		if _, err := netns.Create(ctx, string(ns)); err != nil {
			return fmt.Errorf("build topology: %w", err)
		}
	}
	for _, sc := range s.Sysctls {
		kv := [2]string{sc.Key, sc.Value}
		set := sc.NS.Sysctl
		if sc.Optional {
			set = sc.NS.SysctlIfExists
		}
		if err := set(kv); err != nil {
			return fmt.Errorf("build topology: %w", err)
		}
	}
	for _, b := range s.Batches {
		if err := b.NS.IPBatch(ctx, b.Lines); err != nil {
			return fmt.Errorf("build topology: %w", err)
		}
	}
	return nil
}

// Destroy removes every namespace of the topology (killing the processes
// inside first); the veth pairs, including the root link, go with them. It
// does not fail on namespaces that are already gone.
func Destroy(ctx context.Context, t *Topology) error {
	// The kernel destroys a deleted namespace's interfaces asynchronously:
	// delete the root link explicitly so it is gone when Destroy returns.
	var rootErr error
	if rl := t.Spec.RootLink; rl != nil {
		if _, err := os.Stat("/sys/class/net/" + rl.Name); err == nil {
			_, rootErr = netns.Root.IP(ctx, "link", "del", rl.Name)
		}
	}
	var wg sync.WaitGroup
	nss := t.Namespaces()
	errs := make([]error, len(nss))
	for i, ns := range nss {
		wg.Go(func() { errs[i] = ns.Delete(ctx) })
	}
	wg.Wait()
	return errors.Join(append(errs, rootErr)...)
}
