package membership

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewValidates(t *testing.T) {
	valid := func(mut func(*Config)) Config {
		c := DefaultConfig()
		c.NodeName, c.SecretKey = "n1", testKey
		if mut != nil {
			mut(&c)
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" means valid
	}{
		{"defaults", valid(nil), ""},
		{"zero durations take defaults", Config{NodeName: "n1", SecretKey: testKey}, ""},
		{"24-byte key", valid(func(c *Config) { c.SecretKey = make([]byte, 24) }), ""},
		{"32-byte key", valid(func(c *Config) { c.SecretKey = make([]byte, 32) }), ""},
		{"insecure", valid(func(c *Config) { c.SecretKey, c.Insecure = nil, true }), ""},
		{"no name", valid(func(c *Config) { c.NodeName = "" }), "node name is empty"},
		{"no key", valid(func(c *Config) { c.SecretKey = nil }), "secret key is 0 bytes"},
		{"short key", valid(func(c *Config) { c.SecretKey = []byte("short") }), "secret key is 5 bytes"},
		{"insecure with key", valid(func(c *Config) { c.Insecure = true }), "secret key is set although Insecure"},
		{"bind port", valid(func(c *Config) { c.BindPort = 70000 }), "bind port 70000"},
		{"advertise port", valid(func(c *Config) { c.AdvertisePort = -1 }), "advertise port -1"},
		{"probe timeout too long", valid(func(c *Config) { c.ProbeTimeout = 50 * time.Millisecond }), "below half the probe interval"},
		{"negative probe interval", valid(func(c *Config) { c.ProbeInterval = -time.Second }), "probe interval -1s"},
		{"negative multiplier", valid(func(c *Config) { c.SuspicionMult = -1 }), "suspicion multiplier -1"},
		{"negative max multiplier", valid(func(c *Config) { c.SuspicionMaxTimeoutMult = -2 }), "max timeout multiplier -2"},
		{"negative retransmit", valid(func(c *Config) { c.RetransmitMult = -3 }), "retransmit multiplier -3"},
		{"negative gossip", valid(func(c *Config) { c.GossipInterval = -1 }), "gossip interval"},
		{"negative leave timeout", valid(func(c *Config) { c.LeaveTimeout = -1 }), "duration -1ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: got %v, want ErrInvalidConfig containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	got := Config{NodeName: "n1", BindPort: 7000}.withDefaults()
	want := DefaultConfig()
	want.NodeName, want.BindPort, want.AdvertisePort, want.BindAddr = "n1", 7000, 7000, "0.0.0.0"
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Config{}), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Logger"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("withDefaults (-want +got):\n%s", diff)
	}
	if got.Logger == nil {
		t.Error("Logger is nil, want a discarding logger")
	}
}

// TestSuspicionTimeouts pins the numbers of the package doc's table.
func TestSuspicionTimeouts(t *testing.T) {
	c := DefaultConfig()
	ms := time.Millisecond
	for _, tc := range []struct {
		n          int
		minT, maxT time.Duration
		k          int
	}{
		{1, 300 * ms, 600 * ms, 0},
		{2, 300 * ms, 600 * ms, 0},
		{3, 300 * ms, 600 * ms, 1},
		{10, 300 * ms, 600 * ms, 1},
		{20, 390300 * time.Microsecond, 780600 * time.Microsecond, 1},
		{100, 600 * ms, 1200 * ms, 1},
	} {
		minT, maxT, k := c.suspicionTimeouts(tc.n)
		if minT != tc.minT || maxT != tc.maxT || k != tc.k {
			t.Errorf("n=%d: got min %v max %v k %d, want %v %v %d", tc.n, minT, maxT, k, tc.minT, tc.maxT, tc.k)
		}
	}
	// memberlist's LAN defaults, for comparison with MetalLB's failover.
	c.ProbeInterval, c.SuspicionMult, c.SuspicionMaxTimeoutMult = time.Second, 4, 6
	if minT, _, k := c.suspicionTimeouts(3); minT != 4*time.Second || k != 0 {
		t.Errorf("LAN defaults, n=3: got min %v k %d, want 4s 0", minT, k)
	}
}

func TestMemberlistConfig(t *testing.T) {
	c := DefaultConfig()
	c.NodeName, c.SecretKey = "n1", testKey
	c.AdvertiseAddr = "192.0.2.1"
	c = c.withDefaults()
	d := &delegate{}
	mc := c.memberlistConfig(d, nil)
	type view struct {
		Name, BindAddr, AdvertiseAddr, Label  string
		BindPort, AdvertisePort               int
		Key                                   []byte
		Probe, ProbeTimeout, Gossip, TCP, DNR time.Duration
		SusMult, SusMax, Retransmit           int
		VerifyIn, VerifyOut                   bool
	}
	got := view{mc.Name, mc.BindAddr, mc.AdvertiseAddr, mc.Label, mc.BindPort, mc.AdvertisePort, mc.SecretKey,
		mc.ProbeInterval, mc.ProbeTimeout, mc.GossipInterval, mc.TCPTimeout, mc.DeadNodeReclaimTime,
		mc.SuspicionMult, mc.SuspicionMaxTimeoutMult, mc.RetransmitMult, mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing}
	want := view{"n1", "0.0.0.0", "192.0.2.1", "pylon", 7946, 7946, testKey,
		100 * time.Millisecond, 40 * time.Millisecond, 20 * time.Millisecond, 2 * time.Second, time.Second,
		3, 2, 4, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("memberlist config (-want +got):\n%s", diff)
	}
	if mc.Delegate != d || mc.Events != d {
		t.Error("delegate not wired")
	}
	c.SecretKey, c.Insecure = nil, true
	if mc := c.memberlistConfig(d, nil); mc.SecretKey != nil || mc.Keyring != nil {
		t.Error("insecure config carries a key")
	}
}

// TestBackedConfig: the timing behind the fast detector is valid and
// slower to declare a member dead than the defaults: about a second of
// suspicion in a 3-member cluster.
func TestBackedConfig(t *testing.T) {
	c := BackedConfig()
	c.NodeName, c.Insecure = "n1", true
	if err := c.withDefaults().validate(); err != nil {
		t.Fatal(err)
	}
	minB, _, _ := c.suspicionTimeouts(3)
	minD, _, _ := DefaultConfig().suspicionTimeouts(3)
	if minB != time.Second || minB <= minD {
		t.Errorf("backed suspicion %v (defaults %v), want 1s", minB, minD)
	}
}
