package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// ReadUsage reads the RSS, peak RSS and CPU time of any pid from /proc.
func ReadUsage(pid int) (Usage, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, err
	}
	return parseUsage(string(status), string(stat))
}

func parseUsage(status, stat string) (Usage, error) {
	var u Usage
	for _, line := range strings.Split(status, "\n") {
		for prefix, dst := range map[string]*uint64{"VmRSS:": &u.RSSBytes, "VmHWM:": &u.PeakRSSBytes} {
			rest, ok := strings.CutPrefix(line, prefix)
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return Usage{}, fmt.Errorf("malformed %s line %q", prefix, line)
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return Usage{}, fmt.Errorf("malformed %s line %q: %w", prefix, line, err)
			}
			*dst = kb * 1024
		}
	}
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return Usage{}, errors.New("malformed stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return Usage{}, errors.New("malformed stat: too few fields")
	}
	// utime and stime are fields 14 and 15; f starts at field 3.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Usage{}, fmt.Errorf("malformed stat times: %w", err)
	}
	u.CPU = time.Duration(ut+st) * time.Second / clockTicks
	return u, nil
}
