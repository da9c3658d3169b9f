// Command kubectl-pylon is Pylon's kubectl plugin: it shows who announces
// what, explains why a Service has no address, dry-runs configuration
// changes and migrates MetalLB's configuration. Copy it onto the PATH and
// run it as "kubectl pylon".
package main

import (
	"os"

	"github.com/pylonlb/pylon/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
