//go:build e2e

package selftest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/nodehttp"
)

// envRole makes a re-executed test binary hold a lab until killed: the
// crash that TestReapAfterCrash reaps.
const envRole = "PYLON_SELFTEST_ROLE"

func TestMain(m *testing.M) {
	nodehttp.MaybeRun() // first: the node HTTP servers inherit envRole
	if os.Getenv(envRole) == "hold-lab" {
		holdLab()
	}
	labtest.Main(m)
}

// holdLab brings a network-only lab up with FRR on the router, prints its
// id and directory, and blocks until killed.
func holdLab() {
	ctx := context.Background()
	l, err := lab.Up(ctx, lab.Options{Nodes: 1, NetworkOnly: true})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if _, err := l.StartFRR(ctx, "router", l.RouterBGPConfig("router", lab.RouterASN, 0)); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(l.ID, l.Dir)
	select {}
}
