//go:build !linux

package l2

import (
	"context"
	"errors"
)

// SystemHost returns a Host that fails: raw L2 answering is Linux-only.
func SystemHost() Host { return unsupportedHost{} }

type unsupportedHost struct{}

var errUnsupported = errors.New("l2 announcing is only supported on Linux")

func (unsupportedHost) Links() ([]Link, error) { return nil, errUnsupported }
func (unsupportedHost) Watch(ctx context.Context, _ chan<- struct{}) error {
	<-ctx.Done()
	return nil
}
func (unsupportedHost) ListenARP(Interface) (Conn, error)    { return nil, errUnsupported }
func (unsupportedHost) ListenNDP(Interface) (NDPConn, error) { return nil, errUnsupported }
