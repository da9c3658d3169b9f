// Command pause is the lab cluster's pod sandbox image: it holds a pod's
// namespaces, reaps the orphans that the pod's shared PID namespace hands to
// it, and exits on SIGINT or SIGTERM. The lab builds it locally because
// nothing can be pulled from a registry (containerd's sandbox_image names it).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
