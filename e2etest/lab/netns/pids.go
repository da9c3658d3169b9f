package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fileID identifies a namespace by the device and inode of its nsfs file.
type fileID struct{ dev, ino uint64 }

func statID(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: st.Dev, ino: st.Ino}, nil
}

// Pids returns the processes whose network namespace is n, found as
// `ip netns pids` finds them: by comparing /proc/PID/ns/net with the
// namespace's bind mount. Zombies have no namespace and are not listed.
func (n NS) Pids() ([]int, error) {
	if n == Root {
		return nil, errors.New("list pids of the root namespace: refused")
	}
	want, err := statID(n.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list pids of %s: %w", n, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("list pids of %s: %w", n, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list pids of %s: %w", n, err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if id, err := statID(filepath.Join("/proc", e.Name(), "ns/net")); err == nil && id == want {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Cmdline returns the command line of pid with arguments joined by spaces,
// or "" when the process is gone.
func Cmdline(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	for i := range b {
		if b[i] == 0 {
			b[i] = ' '
		}
	}
	return string(b)
}

// KillAll sends SIGKILL to every process inside the namespace and waits up
// to timeout for them to leave it. Each pid is pinned with a pidfd and its
// namespace checked again before the signal, so a recycled pid is never hit.
// It returns the command lines of the processes it killed.
func (n NS) KillAll(ctx context.Context, timeout time.Duration) ([]string, error) {
	pids, err := n.Pids()
	if err != nil {
		return nil, err
	}
	want, err := statID(n.Path())
	if err != nil {
		return nil, fmt.Errorf("kill processes in %s: %w", n, err)
	}
	var killed []string
	for _, pid := range pids {
		cmd := Cmdline(pid)
		if err := killInNS(pid, want); err != nil {
			return killed, fmt.Errorf("kill pid %d (%s) in %s: %w", pid, cmd, n, err)
		}
		killed = append(killed, fmt.Sprintf("%d %s", pid, cmd))
	}
	return killed, n.waitEmpty(ctx, timeout)
}

func killInNS(pid int, want fileID) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	id, err := statID(filepath.Join("/proc", strconv.Itoa(pid), "ns/net"))
	if err != nil || id != want {
		return nil // exited or is another process now
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("pidfd_send_signal: %w", err)
	}
	return nil
}

func (n NS) waitEmpty(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		pids, err := n.Pids()
		if err != nil || len(pids) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("processes %v still in %s: %w", pids, n, ctx.Err())
		case <-tick.C:
		}
	}
}

// Delete kills every process inside the namespace, then removes its name
// (`ip netns del` alone would leave the processes, and with them the
// namespace, alive). Deleting a namespace that does not exist is not an error.
func (n NS) Delete(ctx context.Context) error {
	if n == Root {
		return errors.New("delete the root namespace: refused")
	}
	if !n.Exists() {
		return nil
	}
	if _, err := n.KillAll(ctx, 5*time.Second); err != nil {
		return fmt.Errorf("delete namespace %s: %w", n, err)
	}
	if err := unix.Unmount(n.Path(), unix.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("delete namespace %s: unmount: %w", n, err)
	}
	if err := os.Remove(n.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete namespace %s: %w", n, err)
	}
	return nil
}
