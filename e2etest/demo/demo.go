package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// Demo is a lab running the demo: Pylon with Config, the demo Services.
type Demo struct {
	Lab *lab.Lab
	// FRR is the router's FRR instance.
	FRR *routers.FRR
	// Facts are what Start found.
	Facts *Facts
}

// Start is what `pylon-lab up --demo` (make lab) does once the lab is up:
// Prepare, Run, and print the facts to out, with a progress line before
// each step that takes a while and a warning when a fact is not what a
// working Pylon shows. The error is for steps that failed outright.
func Start(ctx context.Context, l *lab.Lab, out io.Writer) (*Demo, error) {
	done := step(out, "Starting FRR on the router, applying the sample configuration (L2 pool %s, BGP pool %s, BGP peers\n"+
		"    to the router with BFD), starting the controller and %d speakers; waiting for them and the BGP sessions (~5-15 s)",
		L2Pool, BGPPool, len(l.NodeNames()))
	frr, err := Prepare(ctx, l, Options{})
	if err != nil {
		return nil, err
	}
	done()
	done = step(out, "Creating the demo Services in namespace %s and checking each IP: who announces it, who answers HTTP (~2-5 s)", Namespace)
	facts, err := Run(ctx, l, frr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	done()
	fmt.Fprintln(out)
	if err := facts.Write(out); err != nil {
		return nil, err
	}
	if err := facts.Check(len(l.NodeNames())); err != nil {
		fmt.Fprintf(out, "\n(!) Not everything works as it should:\n%v\n(logs in %s)\n", err, l.Dir)
	}
	return &Demo{Lab: l, FRR: frr, Facts: facts}, nil
}

// Show collects the facts again (waiting at most 3 s for each) and prints
// them: after a speaker was killed or a link cut, it shows who took over.
func (d *Demo) Show(ctx context.Context, w io.Writer) error {
	f, err := Collect(ctx, d.Lab, d.FRR, 3*time.Second)
	if err != nil {
		return err
	}
	return f.Write(w)
}

// step prints a progress line for a step that takes a while and returns a
// function printing how long it took.
func step(w io.Writer, format string, args ...any) func() {
	fmt.Fprintf(w, "==> "+format+"\n", args...)
	t0 := time.Now()
	return func() { fmt.Fprintf(w, "    done in %v\n", time.Since(t0).Round(100*time.Millisecond)) }
}
