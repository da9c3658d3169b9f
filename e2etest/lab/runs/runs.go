// Package runs gives every lab run a machine-unique id, shows which runs
// are alive, and removes what dead runs left behind.
//
// A run holds an exclusive flock(2) on StateDir/ID.lock for as long as its
// owner process lives: the kernel drops the lock when the process dies,
// however it dies, so "lock file present but not locked" means a dead run
// whose namespaces, processes and files may be reaped. Everything a run makes
// on the machine is named from its id: namespaces "plab-ID-*", the root-link
// interface "plabID".
package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// NamePrefix starts the name of every namespace the lab makes.
const NamePrefix = "plab-"

// DefaultStateDir holds the lock files of runs (tmpfs: cleared at boot).
const DefaultStateDir = "/run/pylon-lab"

// MaxID is the largest run id: ids have 15 bits so that each maps to its
// own /31 in 169.254.0.0/16 for the root link.
const MaxID = 0x7fff

// ID identifies a run; valid ids are 1..MaxID.
type ID uint16

// String returns the id as four hex digits.
func (id ID) String() string { return fmt.Sprintf("%04x", uint16(id)) }

// Prefix returns the prefix of the run's namespace names, e.g. "plab-1a2b-".
func (id ID) Prefix() string { return NamePrefix + id.String() + "-" }

// LinkName returns the name of the run's interface in the root namespace.
func (id ID) LinkName() string { return "plab" + id.String() }

// ParseID parses four hex digits.
func ParseID(s string) (ID, error) {
	v, err := strconv.ParseUint(s, 16, 16)
	if err != nil || v == 0 || v > MaxID || len(s) != 4 {
		return 0, fmt.Errorf("parse run id %q: want 4 hex digits in 0001..%04x", s, MaxID)
	}
	return ID(v), nil
}

// Info is what a lock file records about its run.
type Info struct {
	ID         ID        `json:"-"`
	OwnerPid   int       `json:"ownerPid"`
	OwnerStart uint64    `json:"ownerStart"` // start time of the owner (clock ticks since boot)
	Dir        string    `json:"dir"`        // run directory (logs, configs, certificates)
	Started    time.Time `json:"started"`
	// Alive is true while the owner holds the lock (not stored).
	Alive bool `json:"-"`
}

// Run is a run owned by this process.
type Run struct {
	Info
	lock *os.File
	path string
}

// Acquire picks a free id, locks it for this process and records info
// (the caller fills Dir; the owner fields are set here).
func Acquire(stateDir string, dir func(ID) string) (*Run, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("acquire run id: %w", err)
	}
	for range 64 {
		id := ID(1 + rand.IntN(MaxID))
		if taken(id) {
			continue
		}
		r, err := tryAcquire(stateDir, id, dir(id))
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return r, err
	}
	return nil, errors.New("acquire run id: no free id after 64 tries")
}

// taken reports whether something on the machine already uses id's names.
func taken(id ID) bool {
	nss, _ := netns.List(id.Prefix())
	_, err := os.Stat(filepath.Join("/sys/class/net", id.LinkName()))
	return len(nss) > 0 || err == nil
}

func tryAcquire(stateDir string, id ID, dir string) (*Run, error) {
	path := filepath.Join(stateDir, id.String()+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	start, _ := StartTime(os.Getpid())
	r := &Run{Info: Info{ID: id, OwnerPid: os.Getpid(), OwnerStart: start, Dir: dir, Started: time.Now(), Alive: true},
		lock: f, path: path}
	if err := json.NewEncoder(f).Encode(r.Info); err != nil {
		r.Release()
		return nil, fmt.Errorf("record run %s: %w", id, err)
	}
	return r, nil
}

// Release removes the lock file and drops the lock: call it after cleanup.
func (r *Run) Release() error {
	err := os.Remove(r.path)
	if cerr := r.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("release run %s: %w", r.ID, err)
	}
	return nil
}

// List returns every run that has a lock file, with Alive set.
func List(stateDir string) ([]Info, error) {
	paths, err := filepath.Glob(filepath.Join(stateDir, "*.lock"))
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []Info
	for _, p := range paths {
		id, err := ParseID(strings.TrimSuffix(filepath.Base(p), ".lock"))
		if err != nil {
			continue
		}
		info, err := read(p)
		if err != nil {
			continue // vanished while listing
		}
		info.ID = id
		out = append(out, info)
	}
	return out, nil
}

// read loads a lock file and probes its lock to learn whether its owner lives.
func read(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	var info Info
	_ = json.NewDecoder(f).Decode(&info) // a run that died while writing still needs reaping
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	info.Alive = errors.Is(err, unix.EWOULDBLOCK)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
	}
	return info, nil
}

// StartTime returns a process's start time in clock ticks since boot (field
// 22 of /proc/PID/stat): with the pid it identifies a process across pid reuse.
func StartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStartTime(string(b))
}

func parseStartTime(stat string) (uint64, error) {
	// The command name (field 2) may contain spaces and parentheses: skip
	// to the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 20 {
		return 0, errors.New("malformed stat: too few fields")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
