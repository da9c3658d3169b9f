package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// CgroupMount is one cgroup hierarchy of the machine.
type CgroupMount struct {
	// Point is where it is mounted, e.g. /sys/fs/cgroup/memory.
	Point string
	// FSType is "cgroup" (v1) or "cgroup2".
	FSType string
	// Options are the superblock options naming the hierarchy, e.g.
	// "memory" or "none,name=systemd" (empty for cgroup2).
	Options string
}

// ParseCgroupMounts reads the cgroup hierarchies mounted under
// /sys/fs/cgroup from a /proc/PID/mountinfo. It is pure.
func ParseCgroupMounts(mountinfo []byte) ([]CgroupMount, error) {
	var out []CgroupMount
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			return nil, fmt.Errorf("parse mountinfo line %q: too few fields", sc.Text())
		}
		point, fstype := f[4], g[0]
		if !strings.HasPrefix(point, "/sys/fs/cgroup/") || (fstype != "cgroup" && fstype != "cgroup2") {
			continue
		}
		m := CgroupMount{Point: point, FSType: fstype}
		if fstype == "cgroup" {
			m.Options = hierarchyOptions(g[2])
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse mountinfo: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Point < out[j].Point })
	return out, nil
}

// hierarchyOptions keeps the superblock options that name a v1 hierarchy
// (its controllers or name=), dropping rw/ro and other flags.
func hierarchyOptions(super string) string {
	var keep []string
	named := false
	for _, o := range strings.Split(super, ",") {
		switch {
		case o == "rw" || o == "ro" || o == "relatime" || o == "noatime" || o == "nosuid" ||
			o == "nodev" || o == "noexec" || strings.HasPrefix(o, "release_agent=") || o == "clone_children":
		case strings.HasPrefix(o, "name="):
			named = true
			keep = append(keep, o)
		default:
			keep = append(keep, o)
		}
	}
	if named && len(keep) == 1 {
		return "none," + keep[0] // a named hierarchy without controllers
	}
	return strings.Join(keep, ",")
}

// MountNS says what a node's mount namespace holds.
type MountNS struct {
	// Cgroups are the machine's hierarchies, mounted again: `ip netns exec`
	// gives the node a fresh /sys (for its own network devices) without
	// them.
	Cgroups []CgroupMount
	// Tmpfs are directories that get an empty tmpfs: the node's /run and
	// its state (kubelet, containerd, CNI), gone with the namespace.
	Tmpfs []string
	// Binds maps paths inside the node to directories of the run (its
	// configuration and pod logs, kept when a test fails).
	Binds map[string]string
	// Sysctls maps a machine-wide sysctl the kubelet would set (name under
	// /proc/sys) to a file of the run holding the value it wants: the
	// kubelet sees its value, the machine keeps its own.
	Sysctls map[string]string
	// Ready is a file the script creates once everything is mounted.
	Ready string
}

// KubeletSysctls are the machine-wide sysctls the kubelet sets at start
// (with protectKernelDefaults off) and the values it wants.
var KubeletSysctls = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// HolderScript renders the bash script that sets up a node's mount
// namespace and then holds it (sleeps) for the node's daemons to enter.
// It is pure; paths are quoted.
func HolderScript(m MountNS) string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	b.WriteString("mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup\n")
	for _, c := range m.Cgroups {
		fmt.Fprintf(&b, "mkdir -p %s\n", q(c.Point))
		if c.FSType == "cgroup2" {
			fmt.Fprintf(&b, "mount -t cgroup2 cgroup2 %s\n", q(c.Point))
		} else {
			fmt.Fprintf(&b, "mount -t cgroup -o %s cgroup %s\n", q(c.Options), q(c.Point))
		}
	}
	for _, d := range m.Tmpfs {
		fmt.Fprintf(&b, "mkdir -p %s && mount -t tmpfs -o mode=755 tmpfs %s\n", q(d), q(d))
	}
	for _, in := range sortedKeys(m.Binds) {
		fmt.Fprintf(&b, "mkdir -p %s %s && mount --bind %s %s\n", q(m.Binds[in]), q(in), q(m.Binds[in]), q(in))
	}
	for _, name := range sortedKeys(m.Sysctls) {
		fmt.Fprintf(&b, "mount --bind %s %s\n", q(m.Sysctls[name]), q(filepath.Join("/proc/sys", name)))
	}
	fmt.Fprintf(&b, "touch %s\nexec sleep infinity\n", q(m.Ready))
	return b.String()
}

// q quotes s for bash.
func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
