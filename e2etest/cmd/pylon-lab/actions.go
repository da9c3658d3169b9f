package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

// labActions maps the commands acting on a running lab to their control
// request: method and path (%s is the node).
var labActions = map[string]struct {
	method, path string
	node         bool
	help         string
}{
	"kill-speaker":  {http.MethodPost, "/speaker/%s/kill", true, "SIGKILL a node's speaker (a crash)"},
	"stop-speaker":  {http.MethodPost, "/speaker/%s/stop", true, "SIGTERM a node's speaker (graceful hand-over)"},
	"start-speaker": {http.MethodPost, "/speaker/%s/start", true, "start a node's speaker again"},
	"cut-link":      {http.MethodPost, "/link/%s/cut", true, "pull a node's cable (its bridge port down)"},
	"restore-link":  {http.MethodPost, "/link/%s/restore", true, "plug it back in"},
	"show":          {http.MethodGet, "/show", false, "print the demo's facts again: IPs, who announces, who answers"},
}

// labAction runs one of labActions against a running lab.
func labAction(cmd string, args []string) int {
	a := labActions[cmd]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	id := fs.String("id", "", "lab id (default: the only lab started by pylon-lab up)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	path := a.path
	switch {
	case a.node && len(pos) != 1:
		fmt.Fprintf(os.Stderr, "usage: pylon-lab %s [--id ID] NODE   # %s\n", cmd, a.help)
		return 2
	case a.node:
		path = fmt.Sprintf(a.path, pos[0])
	case len(pos) != 0:
		fmt.Fprintf(os.Stderr, "usage: pylon-lab %s [--id ID]   # %s\n", cmd, a.help)
		return 2
	}
	info, err := findLab(*id)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pylon-lab %s: %v\n", cmd, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := controlRequest(ctx, info.Dir, a.method, path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pylon-lab %s: %v\n", cmd, err)
		return 1
	}
	fmt.Print(out)
	return 0
}

// parseInterspersed parses flags anywhere among the positional arguments
// (flag.Parse stops at the first positional one) and returns the
// positional ones; "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
